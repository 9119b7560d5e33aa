//! `flagsync demo`: the whole tool on a local PostHog, no account needed. Starts the emulator in
//! this process, seeds it with a project that has something for every job to find
//! ([`seed`]), then runs check, sync (plan, apply, again), track (twice) and guard with the
//! registry compiled into `flagsync`, each through the same code and report as its own command,
//! and prints the requests each step cost.
//!
//! Exit codes: `0` the demo ran (the findings it shows are the point), `1` a step failed.

mod seed;

use std::path::{Path, PathBuf};

use clap::Args;
use flags_codegen::date::Date;
use serde_json::Value;

use super::common::runtime;
use super::track::TrackFormat;
use super::{Exit, Format};
use crate::client::{CaptureEvent, Client};
use crate::emulator::{Emulator, RequestLog};
use crate::jobs::guard::{GuardOptions, RunClock, time::now_ms};
use crate::jobs::slack::SlackWebhook;
use crate::jobs::sync::SyncOptions;
use crate::registry::Registry;

use seed::Cast;

/// Arguments of `flagsync demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// The day check and track judge dates against (YYYY-MM-DD). Default: the day after the
    /// registry's first expiry, so every run tells the same story.
    #[arg(long, value_parser = Date::parse)]
    today: Option<Date>,
}

/// Events per capture request.
const CAPTURE_BATCH: usize = 1_000;

/// Runs the demo.
pub(crate) fn run(args: &DemoArgs, registry: &'static Registry) -> Exit {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(exit) => return exit,
    };
    rt.block_on(async {
        let emu = match Emulator::start().await {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error: cannot start the PostHog emulator on 127.0.0.1: {e}");
                return Exit::Failed;
            }
        };
        let client = match emu
            .client_config()
            .build()
            .and_then(Client::new)
            .map_err(|e| e.to_string())
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: cannot build a client for the emulator: {e}");
                return Exit::Failed;
            }
        };
        let mut demo = Demo {
            emu,
            client,
            registry,
            cast: Cast::of(registry),
            today: args.today,
            step: 0,
            failures: Vec::new(),
        };
        demo.play().await
    })
}

/// The running demo: the emulator, a client for it, who plays what, and the steps that failed.
struct Demo {
    emu: Emulator,
    client: Client,
    registry: &'static Registry,
    cast: Cast,
    today: Option<Date>,
    step: usize,
    failures: Vec<String>,
}

/// The steps, for the "n/N" in each header.
const STEPS: usize = 7;

impl Demo {
    async fn play(&mut self) -> Exit {
        let (today, why) = match self.today {
            Some(d) => (d, "the day given with --today".to_owned()),
            None => match seed::story_day(self.registry) {
                (d, Some(f)) => (
                    d,
                    format!("the day after {} expired; --today picks another", f.key),
                ),
                (d, None) => (d, "today".to_owned()),
            },
        };
        self.intro(today, &why);
        if !self.seed(today) {
            return Exit::Failed;
        }
        self.check(today);
        self.sync_plan().await;
        self.sync_apply().await;
        self.sync_again().await;
        self.track(today).await;
        self.track_again(today).await;
        self.guard().await;
        self.outro()
    }

    fn intro(&self, today: Date, why: &str) {
        let r = self.registry;
        eprintln!("flagsync demo: the whole tool against a local PostHog, no account needed");
        eprintln!();
        eprintln!(
            "PostHog emulator: {} (project {}), inside this process.",
            self.emu.base_url(),
            self.emu.project_id()
        );
        eprintln!(
            "Registry: the {} flags of {} compiled into flagsync.",
            r.flags.len(),
            r.source
        );
        eprintln!("Story day: {today}, {why}.");
        eprintln!(
            "Check and track judge dates against it; the guard judges events captured just now."
        );
        eprintln!();
        eprintln!(
            "Against your own project, every command below reads PostHog from the environment:"
        );
        eprintln!(
            "  export POSTHOG_HOST=https://us.posthog.com POSTHOG_PROJECT_ID=… POSTHOG_PERSONAL_API_KEY=phx_…"
        );
    }

    /// Seeds the project and says what it holds.
    fn seed(&mut self, today: Date) -> bool {
        let body = seed::project(&self.cast, today, now_ms());
        if let Err(e) = self.emu.seed(&body) {
            eprintln!("error: the emulator refused the demo's project: {e}");
            return false;
        }
        let c = &self.cast;
        eprintln!();
        eprintln!("The seeded PostHog project:");
        let mut rows: Vec<(String, String)> = Vec::new();
        if let Some(d) = c.regressing {
            rows.push((
                d.key.into(),
                "active at 50%, guarded with enforce; missing the registry's tags".into(),
            ));
        }
        if let Some(d) = c.experiment {
            rows.push((
                d.key.into(),
                format!(
                    "its experiment ended on {}",
                    today.add_days(-seed::EXPERIMENT_ENDED_DAYS_AGO)
                ),
            ));
        }
        if let Some((d, lifetime)) = c.stale {
            rows.push((
                d.key.into(),
                format!(
                    "released (100%) on {}, marked by an earlier track run; {lifetime}-day lifetime",
                    today.add_days(-seed::stale_released_days_ago(lifetime))
                ),
            ));
        }
        if let Some(d) = c.released {
            rows.push((
                d.key.into(),
                "just rolled out to 100%; no description in PostHog".into(),
            ));
        }
        if let Some(d) = c.archived_key {
            rows.push((
                d.key.into(),
                "an archived PostHog flag holds this registry key".into(),
            ));
        }
        for d in &c.archived {
            rows.push((d.key.into(), "archived in the yaml and in PostHog".into()));
        }
        rows.push((
            c.orphan.clone(),
            "in PostHog only: not in the registry".into(),
        ));
        rows.push((
            seed::MISNAMED_KEY.into(),
            "in PostHog only, and its key breaks the naming convention".into(),
        ));
        for d in &c.creates {
            rows.push((
                d.key.into(),
                "in the registry only: not in PostHog yet".into(),
            ));
        }
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (key, what) in rows {
            eprintln!("  {key:<width$}  {what}");
        }
        true
    }

    fn header(&mut self, title: &str, what: &str, command: &str) {
        self.step += 1;
        let head = format!("── {}/{STEPS} {title} ", self.step);
        let fill = 78usize.saturating_sub(head.chars().count());
        eprintln!();
        eprintln!("{head}{}", "─".repeat(fill));
        eprintln!("{what}");
        eprintln!("$ {command}");
        eprintln!();
        self.emu.clear_log();
    }

    /// Prints the requests PostHog received since the header, and the exit code; a step that
    /// exits 1 failed.
    fn footer(&mut self, name: &str, exit: Exit) -> RequestLog {
        let log = self.emu.log();
        eprintln!();
        print_requests(&log);
        let meaning = match exit {
            Exit::Clean => "clean",
            Exit::Findings => "findings",
            Exit::Failed => "failed",
        };
        eprintln!("exit code {}: {meaning}", exit as u8);
        if exit == Exit::Failed {
            self.failures.push(format!("{name} failed"));
        }
        log
    }

    fn check(&mut self, today: Date) {
        let file = self.registry.source;
        self.header(
            "check: validate the registry, offline",
            "The compiler's own validation, plus governance findings that never break a build.",
            &format!("cargo run --bin flagsync -- check --today {today}"),
        );
        let exit = super::check::check_file(Path::new(file), Format::Human, today);
        self.footer("check", exit);
    }

    async fn sync(&self, dry_run: bool) -> Exit {
        super::sync::sync_and_report(
            &self.client,
            self.registry,
            self.registry.source,
            SyncOptions { dry_run },
            &[],
            Format::Human,
        )
        .await
    }

    async fn sync_plan(&mut self) {
        self.header(
            "sync, dry run: the plan",
            "Reads every PostHog flag once (archived ones too) and says what it would write.",
            "cargo run --bin flagsync -- sync --dry-run",
        );
        let exit = self.sync(true).await;
        let log = self.footer("sync --dry-run", exit);
        self.expect_no_writes("sync --dry-run", &log);
    }

    async fn sync_apply(&mut self) {
        self.header(
            "sync: apply the plan",
            "Creates missing flags inactive at 0%, fixes descriptions, adds tags in bulk;\n\
             never deletes, never touches rollout. Findings are reported, not fixed.",
            "cargo run --bin flagsync -- sync",
        );
        let exit = self.sync(false).await;
        self.footer("sync", exit);
    }

    async fn sync_again(&mut self) {
        self.header(
            "sync again: nothing left to do",
            "PostHog now matches the registry: a second run reads the flags and writes nothing.",
            "cargo run --bin flagsync -- sync",
        );
        let exit = self.sync(false).await;
        let log = self.footer("second sync", exit);
        self.expect_no_writes("second sync", &log);
    }

    fn slack(&self) -> Option<SlackWebhook> {
        match SlackWebhook::new(self.emu.slack_webhook_url()) {
            Ok(hook) => Some(hook),
            Err(e) => {
                eprintln!("error: the emulator's Slack sink: {e}");
                None
            }
        }
    }

    async fn run_track(&self, today: Date) -> Exit {
        super::track::track_and_report(
            &self.client,
            self.registry,
            today,
            TrackFormat::Human,
            self.slack().as_ref(),
            false,
        )
        .await
    }

    async fn track(&mut self, today: Date) {
        self.header(
            "track: the lifecycle digest",
            "Released flags (PostHog's full rollout, or an ended experiment), stale and expired ones,\n\
             orphans and naming violations, by owner. It tells Slack first, then records the\n\
             notices as tags: a notice that was not delivered is never marked as told.",
            &format!(
                "SLACK_WEBHOOK_URL=https://hooks.slack.com/… cargo run --bin flagsync -- track --today {today}"
            ),
        );
        let slack_before = self.emu.slack_messages().len();
        let exit = self.run_track(today).await;
        eprintln!();
        self.print_slack(slack_before, false);
        self.footer("track", exit);
    }

    async fn track_again(&mut self, today: Date) {
        self.header(
            "track again: only list pages",
            "The marks are tags, and tags come with the flag list: a repeat run reads the list pages\n\
             and writes nothing. Expired flags, orphans and naming violations stay in the digest\n\
             until someone acts.",
            &format!(
                "SLACK_WEBHOOK_URL=https://hooks.slack.com/… cargo run --bin flagsync -- track --today {today}"
            ),
        );
        let slack_before = self.emu.slack_messages().len();
        let exit = self.run_track(today).await;
        eprintln!();
        self.print_slack(slack_before, false);
        let log = self.footer("second track", exit);
        self.expect_no_writes("second track", &log);
    }

    async fn guard(&mut self) {
        let events = seed::traffic(&self.cast, now_ms());
        self.header(
            "guard: protect the rollouts",
            "One HogQL query judges every guarded flag; an enforced regression is switched off\n\
             and Slack is told.",
            "SLACK_WEBHOOK_URL=https://hooks.slack.com/… cargo run --bin flagsync -- guard",
        );
        let sent = self.capture(&events).await;
        if !sent {
            self.failures.push("capturing the events failed".into());
            return;
        }
        self.emu.clear_log();
        let audit = audit_path();
        let slack = Some(SlackWebhook::new(self.emu.slack_webhook_url()));
        let slack_before = self.emu.slack_messages().len();
        let exit = super::guard::guard_and_report(
            &self.client,
            self.registry,
            &GuardOptions::default(),
            &RunClock::now(),
            &audit,
            slack,
            Format::Human,
        )
        .await;
        let records = std::fs::read_to_string(&audit)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        let _ = std::fs::remove_file(&audit);
        eprintln!();
        eprintln!(
            "audit record: {records} lines appended (flagsync-guard-audit.jsonl; the demo's is a temporary file)"
        );
        self.print_slack(slack_before, true);
        self.print_regressing_state();
        self.footer("guard", exit);
    }

    /// Sends `events` through the emulator's capture endpoint, as the application would.
    async fn capture(&self, events: &[CaptureEvent]) -> bool {
        for batch in events.chunks(CAPTURE_BATCH) {
            if let Err(e) = self.client.capture_batch(batch).await {
                eprintln!("error: capturing the demo's events failed: {e}");
                return false;
            }
        }
        let log = self.emu.log();
        eprintln!(
            "Meanwhile the application captured {} events (exposures, $exception, guardrail metrics)",
            events.len()
        );
        eprintln!("in {} requests to PostHog's capture endpoint.", log.total());
        eprintln!();
        true
    }

    /// Prints the Slack messages received since the first `from`: every header and section
    /// line with `detail`, else each message's headline and size.
    fn print_slack(&self, from: usize, detail: bool) {
        let messages = self.emu.slack_messages();
        let new = messages.get(from..).unwrap_or_default();
        eprintln!(
            "Slack (the emulator's webhook sink) received {} message(s):",
            new.len()
        );
        for m in new {
            let blocks = m["blocks"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            if !detail {
                eprintln!(
                    "  | {} ({} blocks)",
                    m["text"].as_str().unwrap_or_default(),
                    blocks.len()
                );
                continue;
            }
            for block in blocks {
                let text = match block["type"].as_str() {
                    Some("header" | "section") => block["text"]["text"].as_str(),
                    _ => None,
                };
                for line in text.unwrap_or_default().lines() {
                    eprintln!("  | {line}");
                }
            }
        }
    }

    /// Says whether the regressing flag is still on in PostHog (read from the emulator's state,
    /// so it costs no request).
    fn print_regressing_state(&self) {
        let Some(def) = self.cast.regressing else {
            return;
        };
        let state = self.emu.dump();
        let active = state["flags"]
            .as_array()
            .and_then(|flags| flags.iter().find(|f| f["key"] == def.key))
            .map(|f| f["active"] == Value::Bool(true));
        match active {
            Some(false) => eprintln!("PostHog now: {} is off (active: false)", def.key),
            Some(true) => eprintln!("PostHog now: {} is still on", def.key),
            None => {}
        }
    }

    fn expect_no_writes(&mut self, name: &str, log: &RequestLog) {
        let writes: u64 = log
            .counts
            .iter()
            .filter(|(route, _)| !route.starts_with("GET ") && !is_slack(route))
            .map(|(_, n)| n)
            .sum();
        if writes > 0 {
            eprintln!("unexpected: {name} sent {writes} writes to PostHog");
            self.failures.push(format!("{name} wrote to PostHog"));
        }
    }

    fn outro(&self) -> Exit {
        eprintln!();
        eprintln!("{}", "─".repeat(78));
        if self.failures.is_empty() {
            eprintln!(
                "demo done: {STEPS} steps ran. The findings above are the demo's point: each is what the"
            );
            eprintln!("command reports (and its exit code) when it runs in CI against PostHog.");
            Exit::Clean
        } else {
            eprintln!("demo failed: {}", self.failures.join("; "));
            Exit::Failed
        }
    }
}

fn audit_path() -> PathBuf {
    std::env::temp_dir().join(format!(
        "flagsync-demo-{}-guard-audit.jsonl",
        std::process::id()
    ))
}

/// Whether a request-log route (`"POST /hooks/slack/…"`) is the Slack webhook sink's.
fn is_slack(route: &str) -> bool {
    route.contains(" /hooks/slack/")
}

/// Prints the requests of `log` per route: PostHog's, then the Slack webhook's.
fn print_requests(log: &RequestLog) {
    type Routes<'a> = Vec<(&'a str, u64)>;
    let (slack, posthog): (Routes<'_>, Routes<'_>) = log
        .counts
        .iter()
        .map(|(route, n)| (route.as_str(), *n))
        .partition(|(route, _)| is_slack(route));
    for (service, routes) in [("PostHog", posthog), ("Slack", slack)] {
        let total: u64 = routes.iter().map(|(_, n)| n).sum();
        if total == 0 {
            if service == "PostHog" {
                eprintln!("requests to PostHog: none");
            }
            continue;
        }
        eprintln!("requests to {service}: {total}");
        for (route, n) in routes {
            let (method, path) = route.split_once(' ').unwrap_or((route, ""));
            eprintln!("  {n:>4}  {method:<6} {path}");
        }
    }
}
