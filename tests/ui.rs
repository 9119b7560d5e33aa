//! Compile-fail and compile-pass cases of `include_flags!()` (trybuild).
//!
//! Bless the `.stderr` snapshots with `TRYBUILD=overwrite cargo test --test ui` and review
//! the diff. The fixtures are read relative to this package through
//! `CARGO_MANIFEST_DIR_OVERRIDE` (trybuild builds the cases in its own directory).

#[test]
fn ui() {
    // SAFETY: set once, before trybuild spawns cargo; no other thread reads the environment.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("CARGO_MANIFEST_DIR_OVERRIDE", env!("CARGO_MANIFEST_DIR"));
    }
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui-pass/*.rs");
}
