//! What a run reports: one [`Decision`] per guarded flag (the JSON output and the audit record
//! carry the same objects), the flags not judged, and a summary.

use std::fmt::Write as _;

use serde::Serialize;

use super::decide::{ArmReport, SrmReport, TestReport};
use super::select::Skipped;

/// A flag's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// No evidence of harm.
    Healthy,
    /// Harm beyond the margin; reported (not enforced, the disable cap was reached, or a dry
    /// run).
    Regression,
    /// Harm beyond the margin, and the flag was switched off.
    Disabled,
    /// Not judged yet: see the reason.
    InsufficientData,
    /// Not judged, or not acted on, for a reason a person must look at.
    Blocked,
}

impl DecisionKind {
    /// The snake-case name used in the output.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Healthy => "healthy",
            DecisionKind::Regression => "regression",
            DecisionKind::Disabled => "disabled",
            DecisionKind::InsufficientData => "insufficient_data",
            DecisionKind::Blocked => "blocked",
        }
    }
}

/// Why a flag was not judged or not acted on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// An arm has fewer persons or events than the floor.
    SampleFloor,
    /// The flag was edited within the cooldown.
    Cooldown,
    /// Nobody was exposed in the window.
    NoExposures,
    /// The arms' sizes contradict the configured split: the comparison cannot be trusted.
    SampleRatioMismatch,
    /// PostHog refused the disable (400: e.g. other flags depend on it; 409: an approval
    /// policy).
    PosthogRefused,
    /// The disable failed for another reason (PostHog unreachable, 5xx after retries).
    PosthogError,
}

/// What the run did about a flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Nothing to do (or only a report).
    None,
    /// Switched off (`active: false`).
    Disabled,
    /// A dry run: it would have been switched off.
    WouldDisable,
    /// Enforced, but the run's cap on disables was reached.
    CapReached,
    /// PostHog refused or failed the disable; it was not retried.
    DisableFailed,
}

/// PostHog's answer to a refused or failed disable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PosthogAnswer {
    /// The HTTP status, when there was one.
    pub status: Option<u16>,
    /// PostHog's message (or the error).
    pub detail: String,
}

/// A flag's window: cumulative since the later of its last edit and `now − window`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WindowReport {
    /// Start (included).
    pub since: String,
    /// End (excluded): the run's time.
    pub until: String,
}

/// Everything decided about one flag, with the numbers that led to it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decision {
    /// The flag key.
    pub flag: String,
    /// PostHog's id.
    pub flag_id: i64,
    /// The decision.
    pub decision: DecisionKind,
    /// Why, for `insufficient_data` and `blocked`.
    pub reason: Option<Reason>,
    /// Whether the yaml lets the guard disable it.
    pub enforce: bool,
    /// What the run did.
    pub action: Action,
    /// One line a person can read.
    pub summary: String,
    /// The false-alarm rate the flag's tests share.
    pub alpha: f64,
    /// The window judged.
    pub window: WindowReport,
    /// The arms (control first).
    pub arms: Vec<ArmReport>,
    /// Persons exposed to more than one arm (left out).
    pub multiple_exposures: u64,
    /// The sample-ratio check.
    pub srm: Option<SrmReport>,
    /// The tests.
    pub tests: Vec<TestReport>,
    /// PostHog's answer to a refused or failed disable.
    pub posthog: Option<PosthogAnswer>,
}

/// Counts per decision.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Healthy flags.
    pub healthy: usize,
    /// Regressions reported.
    pub regression: usize,
    /// Flags disabled.
    pub disabled: usize,
    /// Flags not judged yet.
    pub insufficient_data: usize,
    /// Flags blocked.
    pub blocked: usize,
    /// Guarded flags not judged at all (not in PostHog, inactive).
    pub skipped: usize,
}

/// The run itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunInfo {
    /// A unique id for this run (also on every audit line).
    pub run_id: String,
    /// When it ran.
    pub at: String,
    /// The window setting, e.g. `7d`.
    pub window: String,
    /// The cooldown setting.
    pub cooldown: String,
    /// The cap on disables.
    pub max_disables: usize,
    /// Whether writes were suppressed.
    pub dry_run: bool,
    /// HogQL queries sent (at most one).
    pub queries: usize,
}

/// A whole run's report (`--format json` prints it).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GuardReport {
    /// The run.
    pub run: RunInfo,
    /// Counts.
    pub summary: Summary,
    /// One per judged or cooling guarded flag, in registry order.
    pub decisions: Vec<Decision>,
    /// Guarded flags not judged.
    pub skipped: Vec<Skipped>,
}

impl GuardReport {
    /// Builds the summary from the decisions.
    pub fn new(run: RunInfo, decisions: Vec<Decision>, skipped: Vec<Skipped>) -> Self {
        let mut summary = Summary {
            skipped: skipped.len(),
            ..Summary::default()
        };
        for d in &decisions {
            *match d.decision {
                DecisionKind::Healthy => &mut summary.healthy,
                DecisionKind::Regression => &mut summary.regression,
                DecisionKind::Disabled => &mut summary.disabled,
                DecisionKind::InsufficientData => &mut summary.insufficient_data,
                DecisionKind::Blocked => &mut summary.blocked,
            } += 1;
        }
        GuardReport {
            run,
            summary,
            decisions,
            skipped,
        }
    }

    /// Whether anything needs a person: a regression, a disable, or a block.
    pub fn has_findings(&self) -> bool {
        self.decisions.iter().any(|d| {
            matches!(
                d.decision,
                DecisionKind::Regression | DecisionKind::Disabled | DecisionKind::Blocked
            )
        })
    }

    /// The report as text for a terminal: one line per flag, worst first.
    pub fn human(&self) -> String {
        let mut out = String::new();
        let mut rows: Vec<&Decision> = self.decisions.iter().collect();
        rows.sort_by_key(|d| {
            let rank = match d.decision {
                DecisionKind::Disabled => 0,
                DecisionKind::Regression => 1,
                DecisionKind::Blocked => 2,
                DecisionKind::InsufficientData => 3,
                DecisionKind::Healthy => 4,
            };
            (rank, d.flag.clone())
        });
        let width = rows.iter().map(|d| d.flag.len()).max().unwrap_or(0);
        for d in rows {
            let _ = writeln!(
                out,
                "{:<17} {:<width$}  {}",
                d.decision.as_str(),
                d.flag,
                d.summary
            );
        }
        for s in &self.skipped {
            let why = match s.reason {
                super::select::SkipReason::NotInPosthog => "not in PostHog",
                super::select::SkipReason::Inactive => "inactive in PostHog",
            };
            let _ = writeln!(out, "{:<17} {:<width$}  {why}", "skipped", s.flag);
        }
        let s = &self.summary;
        let _ = writeln!(
            out,
            "guard: {} healthy, {} regression, {} disabled, {} insufficient data, {} blocked, {} skipped{}",
            s.healthy,
            s.regression,
            s.disabled,
            s.insufficient_data,
            s.blocked,
            s.skipped,
            if self.run.dry_run { " (dry run)" } else { "" }
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(flag: &str, decision: DecisionKind, summary: &str) -> Decision {
        Decision {
            flag: flag.into(),
            flag_id: 1,
            decision,
            reason: None,
            enforce: false,
            action: Action::None,
            summary: summary.into(),
            alpha: 0.05,
            window: WindowReport {
                since: "a".into(),
                until: "b".into(),
            },
            arms: Vec::new(),
            multiple_exposures: 0,
            srm: None,
            tests: Vec::new(),
            posthog: None,
        }
    }

    #[test]
    fn the_human_report_puts_the_worst_first_and_counts() {
        let run = RunInfo {
            run_id: "r".into(),
            at: "t".into(),
            window: "7d".into(),
            cooldown: "30m".into(),
            max_disables: 3,
            dry_run: true,
            queries: 1,
        };
        let report = GuardReport::new(
            run,
            vec![
                decision("a_ok", DecisionKind::Healthy, "fine"),
                decision("b_bad", DecisionKind::Regression, "worse"),
            ],
            vec![Skipped {
                flag: "c_off".into(),
                reason: super::super::select::SkipReason::Inactive,
            }],
        );
        let text = report.human();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("regression") && lines[0].contains("b_bad  worse"),
            "{text}"
        );
        assert!(lines[1].starts_with("healthy"), "{text}");
        assert!(lines[2].contains("inactive in PostHog"), "{text}");
        assert!(
            lines[3].contains("1 healthy, 1 regression") && lines[3].ends_with("(dry run)"),
            "{text}"
        );
        assert!(report.has_findings());
    }
}
