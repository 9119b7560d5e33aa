//! Flag evaluation in the application: [`FlagsClient`] with typed calls on the generated
//! flag types, local evaluation of PostHog's rules, the yaml default on every failure,
//! overrides for tests, exposure events, and a definition cache shared by a fleet.
//!
//! ```ignore
//! use flags::{ExperimentAiSummaryModel, ExperimentAiSummaryModelVariant as Model, ReleaseStudioNewEditor};
//! use flags_runtime::app::FlagsClient;
//! use flags_runtime::eval::{EvalContext, Properties};
//!
//! let flags = FlagsClient::from_env().await?;          // polls /flags/definitions every 30 s
//! let mut person = Properties::new();
//! person.insert("plan", "pro");
//! let user = EvalContext::new("user-1", &person);
//! if flags.is_enabled::<ReleaseStudioNewEditor>(&user) { /* … */ }
//! match flags.variant::<ExperimentAiSummaryModel>(&user) {
//!     Model::Control => {}, Model::ClaudeSonnet => {}, Model::Gpt4o => {}
//! }
//! flags.shutdown().await;
//! ```
//!
//! # Design notes
//!
//! - **The sync calls never touch the network.** `is_enabled`, `variant`, `evaluate` and
//!   `payload` read the rules published by the poller (an `arc-swap` load, then the
//!   allocation-free evaluator), so a request handler never waits for PostHog. An answer the
//!   local rules cannot give (a property not passed, a static cohort, experience
//!   continuity) is the yaml default with [`EvalReason::Inconclusive`]. Only the `async`
//!   calls ([`FlagsClient::evaluate_remote`] and friends) then ask `/flags`, for that flag
//!   alone, with a short timeout (3 s) and no retry. A blocking remote path inside a sync
//!   call was rejected: it would stall an async executor's thread, or need a thread pool,
//!   for a case the caller can opt into explicitly.
//! - **Every failure is the yaml default, with a reason** ([`EvalReason`], [`EvalError`]):
//!   flag missing in PostHog, inconclusive, malformed definition, a variant the yaml does not
//!   know, rules not loaded, 401/402 (rules dropped, as PostHog's SDKs do), remote timeout.
//!   A multivariate flag that is off gets the default variant with PostHog's reason.
//! - **Rules**: polled every 30 s with the last ETag, compiled once per change off the async
//!   threads, published atomically. Optional last-known-good file, written by temp file and
//!   rename, read at start. Optional shared cache ([`DefinitionCache`],
//!   `RedisDefinitionCache`, feature `redis`) so one process of a fleet polls.
//! - **Exposures**: `$feature_flag_called` with posthog-python's properties, de-duplicated
//!   per (distinct id, flag, value) in a bounded cache, queued without blocking (a full queue
//!   drops and counts), sent in batches by a background task. Overrides send none.
//!   PostHog's "minimal" exposure mode (`minimal_flag_called_events`) is not implemented: the
//!   full event is always sent.

mod builder;
mod cache;
mod capture;
mod client;
mod exposure;
mod outcome;
mod poller;
#[cfg(feature = "redis")]
mod redis_cache;
mod remote;
mod snapshot_file;
mod state;

pub use builder::{
    ENV_OFFLINE, ENV_POLL_INTERVAL, ENV_REMOTE_FALLBACK, ENV_SNAPSHOT_FILE, FlagsClientBuilder,
};
pub use cache::{CacheError, CacheFuture, CachedDefinitions, DefinitionCache};
pub use client::FlagsClient;
pub use exposure::LIB_NAME;
pub use outcome::{EvalError, EvalReason, FlagEvaluation, Source};
#[cfg(feature = "redis")]
pub use redis_cache::RedisDefinitionCache;
pub use state::{FlagsStats, RulesSource, RulesStatus};

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Wall-clock milliseconds since the epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis() as u64
}

/// Now as ISO 8601 UTC with milliseconds (`2026-04-15T21:49:19.123Z`), for event timestamps.
pub(crate) fn timestamp_now() -> String {
    let ms = now_ms();
    let day = crate::registry::Date::from_days_since_epoch((ms / 86_400_000) as i64);
    let in_day = ms % 86_400_000;
    format!(
        "{day}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}
