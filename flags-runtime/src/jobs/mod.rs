//! The governance jobs `flagsync` runs in CI, and what they share.
//!
//! - [`slack`]: Block Kit messages posted to an incoming webhook (track digests, guard alerts).
//! - [`track`]: released, stale and expired flags, orphans and naming violations, as a digest.

pub mod slack;
pub mod track;
