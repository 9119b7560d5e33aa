//! The governance jobs `flagsync` runs in CI, and what they share.
//!
//! - [`slack`]: Block Kit messages posted to an incoming webhook (track digests, guard alerts).
//! - [`guard`]: rollout protection: one HogQL query, an anytime-valid test, guarded actions.

pub mod guard;
pub mod slack;
