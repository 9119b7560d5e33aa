//! flagsync (work in progress).
fn main() {}
