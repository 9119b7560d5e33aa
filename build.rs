//! Rebuild the registry when `flags.yaml` changes. Two lines; see the README's design notes
//! for why this is not `build-helper` (dead since 2017) and why the macro also uses `include_bytes!`.
fn main() {
    println!("cargo::rerun-if-changed=flags.yaml");
    println!("cargo::rerun-if-env-changed=CARGO_MANIFEST_DIR_OVERRIDE");
}
