//! `flagsync sync`: keep PostHog in line with the registry. Plan first ([`plan()`]), from one
//! read of every flag ([`Inventory`]); then apply ([`apply()`]) unless it is a dry run.
//!
//! - [`mod@plan`]: the rules, and what is compared how.
//! - [`batch`]: tag additions grouped into `bulk_update_tags` requests.
//! - [`mod@apply`]: the writes, concurrent within the client's limits, each failure recorded.
//! - [`report`]: the run's result.

pub mod apply;
pub mod batch;
pub mod plan;
pub mod report;

pub use apply::{Applied, Progress, WriteAction, WriteFailure, apply};
pub use plan::{Plan, PlannedCreate, PlannedDescription, PlannedTags, plan};
pub use report::SyncReport;

use crate::client::{self, Client};
use crate::jobs::inventory::Inventory;
use crate::registry::Registry;

/// How to run a sync.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncOptions {
    /// Plan only; write nothing.
    pub dry_run: bool,
}

/// Reads PostHog, plans, and (unless `options.dry_run`) applies. Fails only when PostHog's
/// flags cannot be read; a failed write is in the report and the rest of the run goes on.
pub async fn sync(
    client: &Client,
    registry: &Registry,
    options: SyncOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<SyncReport, client::Error> {
    let inventory = Inventory::fetch(client).await?;
    let plan = plan(registry, &inventory);
    let applied = if options.dry_run {
        None
    } else {
        Some(apply(client, registry, &plan, progress).await)
    };
    let mut findings = plan.findings.clone();
    if let Some(a) = &applied {
        findings.extend(a.findings.iter().cloned());
    }
    Ok(SyncReport {
        dry_run: options.dry_run,
        registry_flags: registry.flags.len(),
        posthog_flags: inventory.len(),
        plan,
        applied,
        findings,
    })
}
