//! Writing the marks: one `bulk_update_tags` call per batch of the plan, a few at a time.
//!
//! Only call this after the digest went out (see the module docs of `track`): a mark that is
//! written means "the owner was told". Every call is idempotent (adding a tag twice or removing
//! a missing one changes nothing), so the client's retries are safe, and a call that fails leaves
//! its flags unmarked: they are reported again on the next run, never lost.

use futures_util::{StreamExt, stream};

use super::plan::{Change, MarkPlan, TagBatch};
use crate::client::{Client, TagAction};

/// Tag calls in flight at once (the client's limiter still paces them).
const CONCURRENCY: usize = 4;

/// Flags whose marks were not written, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkFailure {
    /// The flag keys.
    pub keys: Vec<String>,
    /// What went wrong.
    pub error: String,
}

/// What writing the marks did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MarkOutcome {
    /// `bulk_update_tags` calls made (retries not counted).
    pub calls: usize,
    /// Flags in the plan.
    pub flags: usize,
    /// Batches that failed, entirely or for some flags.
    pub failures: Vec<MarkFailure>,
}

impl MarkOutcome {
    /// Every mark was written.
    pub fn is_complete(&self) -> bool {
        self.failures.is_empty()
    }
}

async fn write(client: &Client, batch: TagBatch) -> Option<MarkFailure> {
    let ids: Vec<i64> = batch.flags.iter().map(|(id, _)| *id).collect();
    let action = match batch.change {
        Change::Add => TagAction::Add,
        Change::Remove => TagAction::Remove,
    };
    match client.bulk_update_tags(&ids, action, &batch.tags).await {
        Ok(result) if result.skipped.is_empty() => None,
        Ok(result) => Some(MarkFailure {
            keys: batch
                .flags
                .iter()
                .filter(|(id, _)| result.skipped.iter().any(|s| s.id == *id))
                .map(|(_, k)| k.clone())
                .collect(),
            error: format!(
                "PostHog skipped them: {}",
                result
                    .skipped
                    .first()
                    .map_or("no reason given", |s| s.reason.as_str())
            ),
        }),
        Err(e) => Some(MarkFailure {
            keys: batch.flags.iter().map(|(_, k)| k.clone()).collect(),
            error: e.to_string(),
        }),
    }
}

/// Writes every batch of `plan`: additions first, then removals (so a failure in between leaves
/// a flag with an extra tag, never without its newest one).
pub async fn apply(client: &Client, plan: &MarkPlan) -> MarkOutcome {
    let batches = plan.batches();
    let mut outcome = MarkOutcome {
        calls: batches.len(),
        flags: plan.flags(),
        failures: Vec::new(),
    };
    for change in [Change::Add, Change::Remove] {
        let round: Vec<TagBatch> = batches
            .iter()
            .filter(|b| b.change == change)
            .cloned()
            .collect();
        let failures: Vec<Option<MarkFailure>> = stream::iter(round)
            .map(|b| write(client, b))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        outcome.failures.extend(failures.into_iter().flatten());
    }
    outcome
}
