//! `flagsync sync`: keep PostHog in line with the registry (plan, then apply), and render the
//! report as human text (stderr), JSON or GitHub annotations (stdout).
//!
//! Exit codes: `0` PostHog matches the registry (or was brought in line); `1` the tool failed
//! (configuration, PostHog unreadable) or a write failed; `2` a dry run found drift (planned
//! changes, or drift sync does not fix), or findings of a `--fail-on` group exist.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use serde_json::json;

use super::common::{PosthogArgs, RegistryArgs, connect};
use super::output::{escape_data, escape_property};
use super::{Exit, Format};
use crate::client::Client;
use crate::jobs::inventory::{Finding, FindingCategory};
use crate::jobs::sync::{Progress, SyncOptions, SyncReport, sync};
use crate::registry::Registry;

/// Arguments of `flagsync sync`.
#[derive(Debug, Args)]
pub(crate) struct SyncArgs {
    /// Print the plan and write nothing (exit 2 when PostHog differs from the registry).
    #[arg(long)]
    dry_run: bool,
    /// Exit 2 when findings of these groups exist (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "GROUPS")]
    fail_on: Vec<FailOn>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    #[command(flatten)]
    registry: RegistryArgs,
    #[command(flatten)]
    posthog: PosthogArgs,
}

/// The finding groups `--fail-on` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FailOn {
    /// PostHog flags missing from the registry.
    Orphans,
    /// PostHog keys that break the naming convention.
    Naming,
    /// Drift sync does not fix: archived or reserved keys, variant drift, stale metadata tags.
    Drift,
}

impl FailOn {
    fn category(self) -> FindingCategory {
        match self {
            FailOn::Orphans => FindingCategory::Orphans,
            FailOn::Naming => FindingCategory::Naming,
            FailOn::Drift => FindingCategory::Drift,
        }
    }
}

pub(crate) fn run(args: &SyncArgs, compiled: &'static Registry) -> Exit {
    let (registry, client, rt) = match connect(&args.registry, &args.posthog, compiled) {
        Ok(parts) => parts,
        Err(exit) => return exit,
    };
    let file = match &args.registry.file {
        Some(path) => path.display().to_string(),
        None => registry.source.to_owned(),
    };
    let options = SyncOptions {
        dry_run: args.dry_run,
    };
    rt.block_on(sync_and_report(
        &client,
        registry,
        &file,
        options,
        &args.fail_on,
        args.format,
    ))
}

/// One sync run with its report printed in `format` (`file` names the registry in GitHub
/// annotations): what `flagsync sync` does once it has a client. Returns its exit code.
pub(crate) async fn sync_and_report(
    client: &Client,
    registry: &Registry,
    file: &str,
    options: SyncOptions,
    fail_on: &[FailOn],
    format: Format,
) -> Exit {
    let mut bar = ProgressLine::new(format == Format::Human && std::io::stderr().is_terminal());
    let result = sync(client, registry, options, &mut |p| bar.show(p)).await;
    bar.clear();
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot read PostHog's flags: {e}");
            return Exit::Failed;
        }
    };
    match format {
        Format::Human => human(&report),
        Format::Json => println!("{}", json_report(&report, fail_on)),
        Format::Github => github(&report, file),
    }
    exit_code(&report, fail_on)
}

fn exit_code(report: &SyncReport, fail_on: &[FailOn]) -> Exit {
    if !report.failures().is_empty() {
        Exit::Failed
    } else if (report.dry_run && report.has_drift())
        || fail_on.iter().any(|g| report.count(g.category()) > 0)
    {
        Exit::Findings
    } else {
        Exit::Clean
    }
}

fn summary(report: &SyncReport) -> String {
    let findings = format!(
        "{} findings ({} orphans, {} naming, {} drift)",
        report.findings.len(),
        report.count(FindingCategory::Orphans),
        report.count(FindingCategory::Naming),
        report.count(FindingCategory::Drift),
    );
    let head = format!(
        "{} registry flags, {} PostHog flags, {} in line",
        report.registry_flags, report.posthog_flags, report.plan.in_line
    );
    match &report.applied {
        None => format!(
            "sync (dry run): {head}; would create {}, describe {}, tag {}; {findings}",
            report.plan.creates.len(),
            report.plan.descriptions.len(),
            report.plan.tags.len(),
        ),
        Some(a) => format!(
            "sync: {head}; created {}, described {}, tagged {} ({} requests); {findings}; {} writes failed",
            a.created.len(),
            a.described.len(),
            a.tagged.len(),
            a.tag_requests,
            a.failures.len(),
        ),
    }
}

fn owner_suffix(f: &Finding) -> String {
    match (&f.owner, &f.backup_owner) {
        (Some(o), Some(b)) => format!(" (owner {o}, backup {b})"),
        (Some(o), None) => format!(" (owner {o})"),
        (None, _) => " (no owner known)".to_owned(),
    }
}

fn human(report: &SyncReport) {
    let plan = &report.plan;
    match &report.applied {
        None => {
            for c in &plan.creates {
                eprintln!(
                    "  would create {} (inactive, 0%; tags: {})",
                    c.flag.key,
                    c.flag.tags.join(", ")
                );
            }
            for d in &plan.descriptions {
                eprintln!(
                    "  would describe {}: {:?} -> {:?}",
                    d.key, d.current, d.wanted
                );
            }
            for t in &plan.tags {
                eprintln!("  would tag {}: {}", t.key, t.add.join(", "));
            }
        }
        Some(a) => {
            for key in &a.created {
                eprintln!("  created {key} (inactive, 0%)");
            }
            for key in &a.described {
                eprintln!("  described {key}");
            }
            for key in &a.tagged {
                eprintln!("  tagged {key}");
            }
        }
    }
    for f in &report.findings {
        eprintln!(
            "warning[{}]: {}: {}{}",
            f.kind,
            f.key,
            f.message,
            owner_suffix(f)
        );
    }
    for w in report.failures() {
        eprintln!(
            "error[{}]: {}: {}",
            json!(w.action).as_str().unwrap_or("write"),
            w.keys.join(", "),
            w.error
        );
    }
    eprintln!("{}", summary(report));
}

fn json_report(report: &SyncReport, fail_on: &[FailOn]) -> serde_json::Value {
    let mut v = serde_json::to_value(report).unwrap_or_default();
    v["summary"] = json!(summary(report));
    v["exit"] = json!(exit_code(report, fail_on) as u8);
    v
}

fn location(file: &str, line: Option<u32>) -> String {
    match line {
        Some(l) => format!("file={},line={l},", escape_property(file)),
        None => String::new(),
    }
}

fn github(report: &SyncReport, file: &str) {
    let plan = &report.plan;
    if report.dry_run {
        for c in &plan.creates {
            println!(
                "::notice {}title=flags sync plan::would create {} (inactive, 0%)",
                location(file, Some(c.line)),
                escape_data(&c.flag.key)
            );
        }
        for d in &plan.descriptions {
            println!(
                "::notice {}title=flags sync plan::would replace the description of {}",
                location(file, Some(d.line)),
                escape_data(&d.key)
            );
        }
        for t in &plan.tags {
            println!(
                "::notice {}title=flags sync plan::would add tags to {}: {}",
                location(file, Some(t.line)),
                escape_data(&t.key),
                escape_data(&t.add.join(", "))
            );
        }
    }
    for f in &report.findings {
        println!(
            "::warning {}title={}::{}",
            location(file, f.line),
            escape_property(&format!("flags {}", f.kind)),
            escape_data(&format!("{}: {}{}", f.key, f.message, owner_suffix(f)))
        );
    }
    for w in report.failures() {
        println!(
            "::error title=flags sync write failed::{}",
            escape_data(&format!("{}: {}", w.keys.join(", "), w.error))
        );
    }
    println!(
        "::notice title=flags sync::{}",
        escape_data(&summary(report))
    );
}

/// A one-line progress display on a terminal's stderr, redrawn at most every 100 ms.
struct ProgressLine {
    enabled: bool,
    last: Option<Instant>,
    drawn: bool,
}

impl ProgressLine {
    fn new(enabled: bool) -> Self {
        ProgressLine {
            enabled,
            last: None,
            drawn: false,
        }
    }

    fn show(&mut self, p: Progress) {
        if !self.enabled || p.total == 0 {
            return;
        }
        let due = self
            .last
            .is_none_or(|t| t.elapsed() >= Duration::from_millis(100));
        if !due && p.done < p.total {
            return;
        }
        self.last = Some(Instant::now());
        self.drawn = true;
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2Ksync: {}/{} writes", p.done, p.total);
        let _ = err.flush();
    }

    fn clear(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}
