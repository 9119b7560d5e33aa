//! Applying a [`Plan`]: creates, description updates and tag additions, sent concurrently
//! through the client (whose limiter keeps the run within PostHog's rate limits and whose
//! semaphore bounds concurrency). Every write is attempted; a failed one is recorded and the
//! rest goes on. A create PostHog refuses because a flag it does not list holds the key is a
//! finding ([`FindingKind::ReservedKey`](crate::jobs::inventory::FindingKind)), not a failure.

use futures_util::{StreamExt, stream};
use serde::Serialize;

use super::batch::{TagBatch, tag_batches};
use super::plan::{Plan, PlannedCreate, PlannedDescription};
use crate::client::{self, Client, FlagPatch, TagAction};
use crate::jobs::inventory::{Finding, reserved_key_finding};
use crate::registry::Registry;

/// The kind of write that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteAction {
    /// Creating a flag.
    Create,
    /// Replacing a description.
    Describe,
    /// Adding tags (`bulk_update_tags`).
    Tag,
}

/// A write that failed, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WriteFailure {
    /// What was attempted.
    pub action: WriteAction,
    /// The flags it was for (several for a tag request).
    pub keys: Vec<String>,
    /// The error (PostHog's answer, or the transport failure; never a key or a URL).
    pub error: String,
}

/// What applying a plan did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Applied {
    /// Keys of the flags created.
    pub created: Vec<String>,
    /// Keys of the flags whose description was replaced.
    pub described: Vec<String>,
    /// Keys of the flags that got tags.
    pub tagged: Vec<String>,
    /// Requests sent to add tags (each adds tags to up to 500 flags).
    pub tag_requests: usize,
    /// Writes that failed.
    pub failures: Vec<WriteFailure>,
    /// Creates PostHog refused because the key is reserved.
    pub findings: Vec<Finding>,
}

/// How far an apply has come: writes finished out of writes to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Writes finished (successfully or not).
    pub done: usize,
    /// Writes in all.
    pub total: usize,
}

enum Write<'a> {
    Create(&'a PlannedCreate),
    Describe(&'a PlannedDescription),
    Tag(TagBatch),
}

enum Outcome {
    Created(String),
    Described(String),
    Tagged {
        keys: Vec<String>,
        skipped: Vec<(String, String)>,
    },
    Reserved(Finding),
    Failed(WriteFailure),
}

/// Sends every write of `plan`; `progress` is called after each one finishes.
pub async fn apply(
    client: &Client,
    registry: &Registry,
    plan: &Plan,
    progress: &mut dyn FnMut(Progress),
) -> Applied {
    let mut writes: Vec<Write<'_>> = plan.creates.iter().map(Write::Create).collect();
    writes.extend(plan.descriptions.iter().map(Write::Describe));
    let batches = tag_batches(&plan.tags);
    let mut applied = Applied {
        tag_requests: batches.len(),
        ..Applied::default()
    };
    writes.extend(batches.into_iter().map(Write::Tag));
    let total = writes.len();
    let concurrency = client.config().limits.concurrency.max(1);
    let mut outcomes = stream::iter(writes)
        .map(|w| send(client, registry, w))
        .buffer_unordered(concurrency);
    let mut done = 0;
    progress(Progress { done, total });
    while let Some(outcome) = outcomes.next().await {
        done += 1;
        match outcome {
            Outcome::Created(key) => applied.created.push(key),
            Outcome::Described(key) => applied.described.push(key),
            Outcome::Tagged { keys, skipped } => {
                applied.tagged.extend(keys);
                for (key, reason) in skipped {
                    applied.failures.push(WriteFailure {
                        action: WriteAction::Tag,
                        keys: vec![key],
                        error: format!("PostHog skipped the flag: {reason}"),
                    });
                }
            }
            Outcome::Reserved(f) => applied.findings.push(f),
            Outcome::Failed(f) => applied.failures.push(f),
        }
        progress(Progress { done, total });
    }
    applied.created.sort();
    applied.described.sort();
    applied.tagged.sort();
    applied.tagged.dedup();
    applied.findings.sort_by(|a, b| a.key.cmp(&b.key));
    applied.failures.sort_by(|a, b| a.keys.cmp(&b.keys));
    applied
}

async fn send(client: &Client, registry: &Registry, write: Write<'_>) -> Outcome {
    let failed = |action, keys: Vec<String>, e: client::Error| {
        Outcome::Failed(WriteFailure {
            action,
            keys,
            error: e.to_string(),
        })
    };
    match write {
        Write::Create(c) => match client.create_flag(&c.flag).await {
            Ok(_) => Outcome::Created(c.flag.key.clone()),
            Err(e) => match registry
                .get(&c.flag.key)
                .and_then(|def| reserved_key_finding(def, &e))
            {
                Some(finding) => Outcome::Reserved(finding),
                None => failed(WriteAction::Create, vec![c.flag.key.clone()], e),
            },
        },
        Write::Describe(d) => {
            let patch = FlagPatch {
                name: Some(d.wanted.clone()),
                ..FlagPatch::default()
            };
            match client.update_flag(d.id, &patch).await {
                Ok(_) => Outcome::Described(d.key.clone()),
                Err(e) => failed(WriteAction::Describe, vec![d.key.clone()], e),
            }
        }
        Write::Tag(batch) => match client
            .bulk_update_tags(&batch.ids, TagAction::Add, &batch.tags)
            .await
        {
            Ok(result) => {
                let key_of = |id: i64| {
                    batch
                        .ids
                        .iter()
                        .position(|&i| i == id)
                        .map_or_else(|| format!("#{id}"), |i| batch.keys[i].clone())
                };
                let skipped: Vec<(String, String)> = result
                    .skipped
                    .iter()
                    .map(|s| (key_of(s.id), s.reason.clone()))
                    .collect();
                let keys = batch
                    .ids
                    .iter()
                    .zip(&batch.keys)
                    .filter(|(id, _)| !result.skipped.iter().any(|s| s.id == **id))
                    .map(|(_, k)| k.clone())
                    .collect();
                Outcome::Tagged { keys, skipped }
            }
            Err(e) => failed(WriteAction::Tag, batch.keys, e),
        },
    }
}
