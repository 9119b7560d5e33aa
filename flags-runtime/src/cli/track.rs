//! `flagsync track`: the lifecycle digest. Reads PostHog, reports released, stale and expired
//! flags, orphans and naming violations grouped by owner, tells Slack, then records the notices
//! as tags. Exit 0 nothing to report, 2 findings, 1 failure (nothing is marked after a failed
//! notice, so the next run reports the same findings again).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use flags_codegen::date::Date;

use super::Exit;
use super::common::{PosthogArgs, RegistryArgs, connect};
use crate::client::Client;
use crate::jobs::slack::SlackWebhook;
use crate::jobs::track::{self, Digest, notify};
use crate::registry::Registry;

/// Output formats of `track`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TrackFormat {
    /// Text grouped by owner, on stderr.
    Human,
    /// One JSON document on stdout.
    Json,
    /// Markdown on stdout.
    Markdown,
    /// Markdown appended to `$GITHUB_STEP_SUMMARY` (stdout when it is not set).
    Github,
}

/// Arguments of `flagsync track`.
#[derive(Debug, Args)]
pub(crate) struct TrackArgs {
    #[command(flatten)]
    registry: RegistryArgs,
    #[command(flatten)]
    posthog: PosthogArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TrackFormat::Human)]
    format: TrackFormat,
    /// Post the digest to this Slack incoming webhook (default: `SLACK_WEBHOOK_URL`). Prefer the
    /// variable: arguments are visible to other users of the machine.
    #[arg(long, value_name = "URL")]
    slack_webhook: Option<String>,
    /// The day to judge releases, staleness and expiry against (YYYY-MM-DD; default: today, UTC).
    #[arg(long, value_parser = Date::parse)]
    today: Option<Date>,
    /// Report only: no Slack post and no tag written (the next run reports the same findings).
    #[arg(long)]
    dry_run: bool,
}

/// Prints the digest in `format`; the GitHub job summary is a file, so this can fail.
fn emit(digest: &Digest, format: TrackFormat) -> Result<(), notify::NotifyError> {
    match format {
        TrackFormat::Human => eprint!("{}", digest.human()),
        TrackFormat::Json => println!("{}", digest.json()),
        TrackFormat::Markdown => print!("{}", digest.markdown()),
        TrackFormat::Github => match std::env::var_os(notify::ENV_GITHUB_STEP_SUMMARY) {
            Some(path) if !path.is_empty() => {
                notify::append_step_summary(&PathBuf::from(path), digest)?;
                eprintln!("track: digest appended to the job summary");
            }
            _ => print!("{}", digest.markdown()),
        },
    }
    Ok(())
}

pub(crate) fn run(args: &TrackArgs, compiled: &'static Registry) -> Exit {
    // The webhook first: a bad URL fails before anything is read.
    let slack = match SlackWebhook::from_option_or_env(args.slack_webhook.as_deref(), |name| {
        std::env::var(name).ok()
    }) {
        None => None,
        Some(Ok(hook)) => Some(hook),
        Some(Err(e)) => {
            eprintln!("error: {e}");
            return Exit::Failed;
        }
    };
    let (registry, client, rt) = match connect(&args.registry, &args.posthog, compiled) {
        Ok(setup) => setup,
        Err(code) => return code,
    };
    let today = args.today.unwrap_or_else(Date::today_utc);
    rt.block_on(track_and_report(
        &client,
        registry,
        today,
        args.format,
        slack.as_ref(),
        args.dry_run,
    ))
}

/// One track run on day `today`, as `flagsync track` does it once it has a client: scan, print
/// the digest in `format`, tell `slack` (if any), then mark (neither with `dry_run`). Returns
/// its exit code.
pub(crate) async fn track_and_report(
    client: &Client,
    registry: &Registry,
    today: Date,
    format: TrackFormat,
    slack: Option<&SlackWebhook>,
    dry_run: bool,
) -> Exit {
    let scan = match track::scan(client, registry, today).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: reading PostHog failed: {e}");
            return Exit::Failed;
        }
    };
    eprintln!(
        "track: read {} flags and {} experiments",
        scan.flags_read, scan.experiments_read
    );
    // Tell first (terminal, job summary, Slack), then mark.
    if let Err(e) = emit(&scan.digest, format) {
        eprintln!("error: {e}; nothing was marked, the next run reports the same findings");
        return Exit::Failed;
    }
    let findings = !scan.digest.is_empty();
    if dry_run {
        eprintln!(
            "track: dry run; {} flags would be marked, nothing was posted or written",
            scan.plan.flags()
        );
        return if findings {
            Exit::Findings
        } else {
            Exit::Clean
        };
    }
    let run = track::tell_then_mark(client, scan, slack).await;
    if let Some(e) = &run.notify_error {
        eprintln!("error: {e}; nothing was marked, the next run reports the same findings");
        return Exit::Failed;
    }
    if slack.is_some() && findings {
        eprintln!("track: digest posted to Slack");
    }
    let marks = &run.marks;
    if marks.calls > 0 {
        eprintln!(
            "track: recorded the notices of {} flags in {} tag calls",
            marks.flags, marks.calls
        );
    }
    for failure in &marks.failures {
        eprintln!(
            "error: could not mark {} ({}); they will be reported again next run",
            failure.keys.join(", "),
            failure.error
        );
    }
    if !marks.is_complete() {
        Exit::Failed
    } else if findings {
        Exit::Findings
    } else {
        Exit::Clean
    }
}
