//! The rules a client serves, published atomically, and its counters.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;

use super::outcome::EvalError;
use crate::eval::Snapshot;

/// Where the rules a client serves came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RulesSource {
    /// Fetched from PostHog's `/flags/definitions` by this process.
    PostHog,
    /// Read from the shared definition cache (another process fetched them).
    SharedCache,
    /// Read from the last-known-good snapshot file at start.
    SnapshotFile,
    /// Given in code ([`super::FlagsClient::with_rules`]).
    Provided,
}

/// What a client is serving now ([`super::FlagsClient::rules_status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RulesStatus {
    /// Where the current rules came from; `None`: no rules (offline, not loaded, or dropped).
    pub source: Option<RulesSource>,
    /// How many flags the rules hold.
    pub flags: usize,
    /// Why there are no rules, when PostHog said so (401, 402).
    pub problem: Option<EvalError>,
}

/// Whether the published snapshot may be evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// Rules loaded from `source`.
    Ready(RulesSource),
    /// No network and no rules: defaults.
    Offline,
    /// Nothing loaded yet.
    NotLoaded,
    /// Rules dropped after PostHog answered this error.
    Dropped(EvalError),
}

/// One published state: the compiled rules and whether they may be used.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) snapshot: Snapshot,
    pub(crate) status: Status,
}

/// Counters a client keeps; read them with [`super::FlagsClient::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlagsStats {
    /// Polls of `/flags/definitions` (or of the shared cache) attempted.
    pub polls: u64,
    /// Polls that failed (PostHog unreachable or erroring; the rules in use stay).
    pub poll_errors: u64,
    /// Times new rules were compiled and published.
    pub rules_updates: u64,
    /// Events (exposures and the application's own) queued for capture.
    pub events_queued: u64,
    /// Events dropped because the capture queue was full or closed (never blocks the caller).
    pub events_dropped: u64,
    /// Events PostHog accepted.
    pub events_sent: u64,
    /// Events whose batch PostHog did not accept after retries.
    pub events_failed: u64,
    /// Remote `/flags` calls made for inconclusive local answers.
    pub remote_calls: u64,
    /// Remote calls that failed (timeout, network, HTTP error).
    pub remote_failures: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) polls: AtomicU64,
    pub(crate) poll_errors: AtomicU64,
    pub(crate) rules_updates: AtomicU64,
    pub(crate) events_queued: AtomicU64,
    pub(crate) events_dropped: AtomicU64,
    pub(crate) events_sent: AtomicU64,
    pub(crate) events_failed: AtomicU64,
    pub(crate) remote_calls: AtomicU64,
    pub(crate) remote_failures: AtomicU64,
}

pub(crate) fn bump(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn read(&self) -> FlagsStats {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        FlagsStats {
            polls: r(&self.polls),
            poll_errors: r(&self.poll_errors),
            rules_updates: r(&self.rules_updates),
            events_queued: r(&self.events_queued),
            events_dropped: r(&self.events_dropped),
            events_sent: r(&self.events_sent),
            events_failed: r(&self.events_failed),
            remote_calls: r(&self.remote_calls),
            remote_failures: r(&self.remote_failures),
        }
    }
}

/// What the client and its background tasks share. The tasks hold this, never the client,
/// so dropping the last client handle ends them.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) loaded: ArcSwap<Loaded>,
    pub(crate) counters: Counters,
}

impl Shared {
    pub(crate) fn new(status: Status) -> Arc<Shared> {
        Arc::new(Shared {
            loaded: ArcSwap::from_pointee(Loaded {
                snapshot: Snapshot::default(),
                status,
            }),
            counters: Counters::default(),
        })
    }

    /// Publishes compiled rules; evaluations already running finish on the old ones.
    pub(crate) fn publish(&self, snapshot: Snapshot, source: RulesSource) {
        self.loaded.store(Arc::new(Loaded {
            snapshot,
            status: Status::Ready(source),
        }));
        bump(&self.counters.rules_updates, 1);
    }

    /// Drops the rules after PostHog refused to serve them (401, 402), as its SDKs do.
    pub(crate) fn drop_rules(&self, problem: EvalError) {
        self.loaded.store(Arc::new(Loaded {
            snapshot: Snapshot::default(),
            status: Status::Dropped(problem),
        }));
    }

    /// Whether any rules are being served.
    pub(crate) fn has_rules(&self) -> bool {
        matches!(self.loaded.load().status, Status::Ready(_))
    }

    pub(crate) fn status(&self) -> RulesStatus {
        let loaded = self.loaded.load();
        match loaded.status {
            Status::Ready(source) => RulesStatus {
                source: Some(source),
                flags: loaded.snapshot.len(),
                problem: None,
            },
            Status::Dropped(problem) => RulesStatus {
                source: None,
                flags: 0,
                problem: Some(problem),
            },
            Status::Offline | Status::NotLoaded => RulesStatus {
                source: None,
                flags: 0,
                problem: None,
            },
        }
    }
}
