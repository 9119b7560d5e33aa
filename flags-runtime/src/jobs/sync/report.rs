//! [`SyncReport`]: what a sync run planned, did and found, ready to render.

use serde::Serialize;

use super::apply::{Applied, WriteFailure};
use super::plan::Plan;
use crate::jobs::inventory::{Finding, FindingCategory};

/// The result of a sync run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SyncReport {
    /// Planned only; nothing was written.
    pub dry_run: bool,
    /// Flags in the registry (archived ones included).
    pub registry_flags: usize,
    /// Flags in PostHog (archived ones included).
    pub posthog_flags: usize,
    /// What the run planned.
    pub plan: Plan,
    /// What applying the plan did (`None` for a dry run).
    pub applied: Option<Applied>,
    /// Every finding: the plan's, then the creates PostHog refused because the key is reserved.
    pub findings: Vec<Finding>,
}

impl SyncReport {
    /// Writes that failed.
    pub fn failures(&self) -> &[WriteFailure] {
        self.applied.as_ref().map_or(&[], |a| &a.failures)
    }

    /// How many findings fall in `category`.
    pub fn count(&self, category: FindingCategory) -> usize {
        self.findings
            .iter()
            .filter(|f| f.kind.category() == category)
            .count()
    }

    /// Whether PostHog is (dry run: was found) out of line with the registry: planned changes
    /// in a dry run, and in both modes drift the run does not fix (archived or reserved keys,
    /// variant drift, stale metadata tags).
    pub fn has_drift(&self) -> bool {
        (self.dry_run && !self.plan.is_empty()) || self.count(FindingCategory::Drift) > 0
    }
}
