//! `flagsync guard`: watch guarded rollouts and stop the bad ones.
pub mod stats;
