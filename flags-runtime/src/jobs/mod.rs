//! The governance jobs `flagsync` runs in CI, and what they share.
//!
//! - [`inventory`]: one read of every PostHog flag, the tag convention, and the findings the
//!   sync and track reports share.
//! - [`slack`]: Block Kit messages posted to an incoming webhook (track digests, guard alerts).
//! - [`sync`]: keep PostHog in line with the registry (`flagsync sync`).
//! - [`guard`]: rollout protection: one HogQL query, an anytime-valid test, guarded actions.
//! - [`track`]: released, stale and expired flags, orphans and naming violations, as a digest.

pub mod guard;
pub mod inventory;
pub mod slack;
pub mod sync;
pub mod track;
