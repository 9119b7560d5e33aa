//! The governance jobs `flagsync` runs in CI, and what they share.
//!
//! - [`slack`]: Block Kit messages posted to an incoming webhook (track digests, guard alerts).

pub mod slack;
