//! A snapshot of the expansion of a small registry, formatted with prettyplease. Bless with
//! `UPDATE_SNAPSHOTS=1 cargo test -p flags-codegen --test expand` and review the diff.

use flags_codegen::expand::{ExpandOptions, expand};

#[test]
fn expansion_matches_the_snapshot() {
    let source = include_str!("fixtures/small.yaml");
    let parsed = flags_codegen::parse(source);
    assert!(parsed.is_ok(), "{:?}", parsed.diagnostics);
    let options = ExpandOptions {
        include_path: Some("/abs/flags.yaml".into()),
        ..ExpandOptions::default()
    };
    let tokens = expand(parsed.registry.as_ref(), &options);
    let file = syn::parse2::<syn::File>(tokens.clone()).expect("the expansion is valid Rust");
    let text = prettyplease::unparse(&file);
    // Deterministic: the same input expands to the same text.
    assert_eq!(
        tokens.to_string(),
        expand(flags_codegen::parse(source).registry.as_ref(), &options).to_string()
    );

    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/snapshots/small.expanded.rs"
    );
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(path, &text).expect("write snapshot");
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        expected == text,
        "expansion changed; rerun with UPDATE_SNAPSHOTS=1 and review.\n{text}"
    );
}

#[test]
fn the_skeleton_is_valid_rust() {
    let tokens = expand(None, &ExpandOptions::default());
    syn::parse2::<syn::File>(tokens).expect("skeleton is valid Rust");
}
