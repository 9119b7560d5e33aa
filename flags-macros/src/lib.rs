//! `include_flags!()` (work in progress).
