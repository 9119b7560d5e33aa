//! The governance jobs `flagsync` runs in CI, and what they share.
//!
//! - [`inventory`]: one read of every PostHog flag, the tag convention, and the findings the
//!   sync and track reports share.
//! - [`slack`]: Block Kit messages posted to an incoming webhook (track digests, guard alerts).

pub mod inventory;
pub mod slack;
