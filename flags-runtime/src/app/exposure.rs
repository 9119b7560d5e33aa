//! `$feature_flag_called` exposure events, de-duplicated per (distinct id, flag, value), and
//! the `$feature/<key>` / `$active_feature_flags` properties for the application's own events.
//!
//! The properties are those posthog-python sends (`Client._capture_feature_flag_called`):
//! `$feature_flag`, `$feature_flag_response`, `locally_evaluated`, `$feature/<key>`, and when
//! known `$feature_flag_payload` (decoded JSON, as posthog-python does since it decodes local
//! payloads), `$feature_flag_request_id`, `$feature_flag_reason`, `$feature_flag_version`,
//! `$feature_flag_id`, `$feature_flag_error`; plus `$groups` and `$lib`. The response is the
//! value PostHog gave (`false` for a multivariate flag that is off), or `null` when it gave
//! none, not the yaml default the application then used: the guard job and PostHog's
//! experiment analysis read `$feature_flag_response` as PostHog's assignment.
//! `$feature_flag_reason` is sent for local answers too (the SDKs send it only for remote
//! ones), in the words of the `/flags` descriptions.
//!
//! De-duplication keeps 64-bit hashes (randomly keyed SipHash) of (distinct id, key, value)
//! in two generations per shard: when the current generation is full it becomes the previous
//! one and the older is forgotten, so memory stays bounded and a recently seen exposure is
//! not re-sent right after a rotation (posthog-python clears its whole map instead).

use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::Mutex;

use serde_json::{Map, Value, json};

use super::capture::CaptureQueue;
use super::outcome::EvalReason;
use super::remote::RemoteMeta;
use crate::client::CaptureEvent;
use crate::eval::{EvalContext, FlagValue};

/// The `$lib` value of events this crate sends.
pub const LIB_NAME: &str = "flags-runtime";

/// Shards of the de-duplication cache (independent locks).
const SHARDS: usize = 16;

/// Exposure reporting: the seen-set and the capture queue.
#[derive(Debug)]
pub(crate) struct Exposures {
    seen: Seen,
    queue: std::sync::Arc<CaptureQueue>,
}

/// One evaluation to report.
pub(crate) struct Exposure<'a> {
    pub(crate) key: &'a str,
    /// PostHog's value, `None` when it gave none.
    pub(crate) response: Option<FlagValue<'a>>,
    pub(crate) payload: Option<&'a Value>,
    pub(crate) reason: EvalReason,
    pub(crate) locally_evaluated: bool,
    pub(crate) remote: Option<&'a RemoteMeta>,
}

impl Exposures {
    pub(crate) fn new(capacity: usize, queue: std::sync::Arc<CaptureQueue>) -> Self {
        Exposures {
            seen: Seen::new(capacity),
            queue,
        }
    }

    /// Sends `$feature_flag_called` unless this (distinct id, flag, value) was reported lately.
    /// Never blocks: a full queue drops the event (and forgets it was seen, so a later call
    /// tries again).
    pub(crate) fn report(&self, ctx: &EvalContext<'_>, e: Exposure<'_>) {
        let hash = self.seen.hash(ctx.distinct_id, e.key, e.response);
        if !self.seen.insert(hash) {
            return;
        }
        if !self.queue.enqueue(event(ctx, &e)) {
            self.seen.remove(hash);
        }
    }
}

fn response_json(v: Option<FlagValue<'_>>) -> Value {
    match v {
        Some(FlagValue::Bool(b)) => Value::Bool(b),
        Some(FlagValue::Variant(s)) => Value::String(s.to_owned()),
        None => Value::Null,
    }
}

/// `$groups`: group type → key.
pub(crate) fn groups_json(ctx: &EvalContext<'_>) -> Map<String, Value> {
    ctx.groups
        .iter()
        .map(|g| (g.group_type.to_owned(), Value::String(g.key.to_owned())))
        .collect()
}

fn event(ctx: &EvalContext<'_>, e: &Exposure<'_>) -> CaptureEvent {
    let response = response_json(e.response);
    let mut p = Map::new();
    p.insert("$feature_flag".into(), json!(e.key));
    p.insert("$feature_flag_response".into(), response.clone());
    p.insert("locally_evaluated".into(), json!(e.locally_evaluated));
    p.insert(format!("$feature/{}", e.key), response);
    if let Some(payload) = e.payload {
        p.insert("$feature_flag_payload".into(), payload.clone());
    }
    p.insert("$feature_flag_reason".into(), json!(e.reason.to_string()));
    if let Some(meta) = e.remote {
        if let Some(id) = &meta.request_id {
            p.insert("$feature_flag_request_id".into(), json!(id));
        }
        if let Some(at) = meta.evaluated_at {
            p.insert("$feature_flag_evaluated_at".into(), json!(at));
        }
        if let Some(desc) = &meta.description {
            p.insert("$feature_flag_reason".into(), json!(desc));
        }
        if let Some(v) = meta.version {
            p.insert("$feature_flag_version".into(), json!(v));
        }
        if let Some(id) = meta.id {
            p.insert("$feature_flag_id".into(), json!(id));
        }
    }
    let error = match e.reason {
        EvalReason::Error(err) => err.posthog_code(),
        EvalReason::NotInPostHog if e.remote.is_some() => Some("flag_missing".to_owned()),
        _ => None,
    };
    if let Some(code) = error {
        p.insert("$feature_flag_error".into(), json!(code));
    }
    let groups = groups_json(ctx);
    if !groups.is_empty() {
        p.insert("$groups".into(), Value::Object(groups));
    }
    p.insert("$lib".into(), json!(LIB_NAME));
    p.insert("$lib_version".into(), json!(env!("CARGO_PKG_VERSION")));
    CaptureEvent {
        event: "$feature_flag_called".into(),
        distinct_id: ctx.distinct_id.to_owned(),
        properties: p,
        timestamp: Some(super::timestamp_now()),
        uuid: None,
    }
}

/// A hasher for values that are already hashes.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type HashSet64 = HashSet<u64, BuildHasherDefault<Identity>>;

#[derive(Debug, Default)]
struct Generations {
    current: HashSet64,
    previous: HashSet64,
}

/// A bounded, sharded set of exposure hashes.
#[derive(Debug)]
struct Seen {
    shards: Vec<Mutex<Generations>>,
    per_generation: usize,
    keys: RandomState,
}

impl Seen {
    fn new(capacity: usize) -> Seen {
        Seen {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            // Two generations per shard: at most `capacity` hashes in all.
            per_generation: (capacity / SHARDS / 2).max(1),
            keys: RandomState::new(),
        }
    }

    fn hash(&self, distinct_id: &str, key: &str, value: Option<FlagValue<'_>>) -> u64 {
        let mut h = self.keys.build_hasher();
        h.write(distinct_id.as_bytes());
        h.write_u8(0xff);
        h.write(key.as_bytes());
        h.write_u8(0xff);
        match value {
            Some(FlagValue::Bool(b)) => h.write_u8(u8::from(b)),
            Some(FlagValue::Variant(v)) => {
                h.write_u8(2);
                h.write(v.as_bytes());
            }
            None => h.write_u8(3),
        }
        h.finish()
    }

    fn shard(&self, hash: u64) -> std::sync::MutexGuard<'_, Generations> {
        let i = (hash >> 56) as usize % self.shards.len();
        // A panic while holding the lock cannot leave the sets inconsistent (each operation
        // is a single insert or swap), so a poisoned lock is still usable.
        self.shards[i]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `true` when `hash` was not seen lately (and records it).
    fn insert(&self, hash: u64) -> bool {
        let mut g = self.shard(hash);
        if g.current.contains(&hash) || g.previous.contains(&hash) {
            return false;
        }
        if g.current.len() >= self.per_generation {
            g.previous = std::mem::take(&mut g.current);
        }
        g.current.insert(hash);
        true
    }

    fn remove(&self, hash: u64) {
        let mut g = self.shard(hash);
        g.current.remove(&hash);
        g.previous.remove(&hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_is_bounded_and_remembers_the_recent_past() {
        let seen = Seen::new(64);
        let hashes: Vec<u64> = (0..10_000u64)
            .map(|i| seen.hash(&format!("u{i}"), "flag", Some(FlagValue::Bool(true))))
            .collect();
        for h in &hashes {
            assert!(seen.insert(*h));
        }
        let held: usize = seen
            .shards
            .iter()
            .map(|s| {
                let g = s.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                g.current.len() + g.previous.len()
            })
            .sum();
        assert!(held <= 64, "{held} hashes held");
        // The last one is still known; a new value for the same user and flag is not.
        let last = *hashes.last().unwrap_or(&0);
        assert!(!seen.insert(last));
        assert!(seen.insert(seen.hash("u9999", "flag", Some(FlagValue::Bool(false)))));
    }

    #[test]
    fn the_hash_separates_users_flags_and_values() {
        let seen = Seen::new(1000);
        let a = seen.hash("u1", "f", Some(FlagValue::Variant("a")));
        assert_ne!(a, seen.hash("u1", "f", Some(FlagValue::Variant("b"))));
        assert_ne!(a, seen.hash("u1", "g", Some(FlagValue::Variant("a"))));
        assert_ne!(a, seen.hash("u2", "f", Some(FlagValue::Variant("a"))));
        assert_ne!(a, seen.hash("u1f", "", Some(FlagValue::Variant("a"))));
        assert_ne!(
            seen.hash("u1", "f", Some(FlagValue::Bool(true))),
            seen.hash("u1", "f", None)
        );
    }
}
