//! `flagsync guard`: judge the guarded rollouts once, disable enforced regressions, append the
//! audit record, alert Slack, and print the decisions.
//!
//! Exit codes: `0` every guarded flag healthy or not judged yet; `2` a regression, a disable or
//! a block; `1` the run could not judge (PostHog unreachable, the query refused) or could not
//! record (audit file, Slack).

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use super::common::{PosthogArgs, RegistryArgs, connect};
use super::{Exit, Format};
use crate::client::Client;
use crate::jobs::guard::{self, GuardOptions, RunClock, alert, audit, report::GuardReport};
use crate::jobs::slack::{SlackError, SlackWebhook};
use crate::registry::Registry;

/// `flagsync guard` arguments.
#[derive(Debug, Args)]
pub(crate) struct GuardArgs {
    #[command(flatten)]
    registry: RegistryArgs,
    #[command(flatten)]
    posthog: PosthogArgs,
    /// Output format: human (stderr), json (stdout), github (annotations on stdout).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// How far back a flag's window may reach (it starts at the flag's last edit).
    #[arg(long, default_value = "7d", value_parser = guard::time::parse_duration)]
    window: Duration,
    /// How long a flag waits after an edit before it is judged.
    #[arg(long, default_value = "30m", value_parser = guard::time::parse_duration)]
    cooldown: Duration,
    /// At most this many flags are disabled in one run.
    #[arg(long, default_value_t = 3)]
    max_disables: usize,
    /// Append-only audit record (JSON lines).
    #[arg(
        long,
        value_name = "PATH",
        default_value = "flagsync-guard-audit.jsonl"
    )]
    audit_log: PathBuf,
    /// Judge and report, but change nothing in PostHog.
    #[arg(long)]
    dry_run: bool,
}

fn annotate(report: &GuardReport) {
    for d in &report.decisions {
        let level = match d.decision {
            guard::report::DecisionKind::Disabled
            | guard::report::DecisionKind::Regression
            | guard::report::DecisionKind::Blocked => "error",
            _ => continue,
        };
        let text = format!("{} {}: {}", d.decision.as_str(), d.flag, d.summary)
            .replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A");
        println!("::{level} title=flagsync guard::{text}");
    }
}

/// Runs `flagsync guard`. The Slack webhook comes only from `SLACK_WEBHOOK_URL` (a URL with a
/// token, kept off the command line).
pub(crate) fn run(args: &GuardArgs, compiled: &'static Registry) -> Exit {
    let (registry, client, rt) = match connect(&args.registry, &args.posthog, compiled) {
        Ok(parts) => parts,
        Err(exit) => return exit,
    };
    let options = GuardOptions {
        window: args.window,
        cooldown: args.cooldown,
        max_disables: args.max_disables,
        dry_run: args.dry_run,
    };
    let slack = SlackWebhook::from_option_or_env(None, |n| std::env::var(n).ok());
    rt.block_on(guard_and_report(
        &client,
        registry,
        &options,
        &RunClock::now(),
        &args.audit_log,
        slack,
        args.format,
    ))
}

/// One guard run, as `flagsync guard` does it once it has a client: judge (and disable),
/// append the audit record to `audit_log`, post the alert to `slack` (if any), print the report
/// in `format`. Returns its exit code.
pub(crate) async fn guard_and_report(
    client: &Client,
    registry: &'static Registry,
    options: &GuardOptions,
    clock: &RunClock,
    audit_log: &Path,
    slack: Option<Result<SlackWebhook, SlackError>>,
    format: Format,
) -> Exit {
    let report = match guard::run(client, registry, options, clock).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: guard could not judge any flag: {e}");
            let info = guard::run_info(options, clock, 0);
            if let Err(io) = audit::append_failure(audit_log, &info, &e.to_string()) {
                eprintln!("error: cannot append to {}: {io}", audit_log.display());
            }
            return Exit::Failed;
        }
    };
    let mut failed = false;
    if let Err(e) = audit::append(audit_log, &report) {
        eprintln!("error: cannot append to {}: {e}", audit_log.display());
        failed = true;
    }
    if let Some(message) = alert::message(&report) {
        match slack {
            Some(Ok(hook)) => {
                if let Err(e) = hook.post(&message).await {
                    eprintln!("error: the Slack alert was not delivered: {e}");
                    failed = true;
                }
            }
            Some(Err(e)) => {
                eprintln!("error: {e}");
                failed = true;
            }
            None => {}
        }
    }
    match format {
        Format::Json => match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("error: cannot encode the report: {e}");
                failed = true;
            }
        },
        Format::Github => {
            annotate(&report);
            eprint!("{}", report.human());
        }
        Format::Human => eprint!("{}", report.human()),
    }
    if failed {
        Exit::Failed
    } else if report.has_findings() {
        Exit::Findings
    } else {
        Exit::Clean
    }
}
