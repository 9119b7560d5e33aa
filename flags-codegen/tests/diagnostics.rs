//! Diagnostics carry the right line and column, all at once, without rustc.

use flags_codegen::{Diagnostic, Severity, parse};

const HEADER: &str = "naming:\n  areas: [studio, ai]\nflags:\n";

fn errors(body: &str) -> Vec<Diagnostic> {
    let parsed = parse(&format!("{HEADER}{body}"));
    parsed
        .diagnostics
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect()
}

fn at(d: &Diagnostic) -> (u32, u32, &'static str) {
    (d.pos.line, d.pos.col, d.code)
}

#[test]
fn a_valid_registry_has_no_diagnostics() {
    let parsed = parse(&format!(
        "{HEADER}  release_studio_a:\n    description: A.\n    owner: \"@ana\"\n    default: false\n"
    ));
    assert!(parsed.is_ok(), "{:?}", parsed.diagnostics);
    let registry = parsed.registry.expect("registry");
    assert_eq!(registry.flags[0].ident, "ReleaseStudioA");
    assert_eq!(registry.flags[0].lifecycle.as_deref(), Some("release"));
    assert_eq!(registry.flags[0].area.as_deref(), Some("studio"));
}

#[test]
fn unknown_field_points_at_the_field_name() {
    let e = errors(
        "  release_studio_a:\n    description: A.\n    ownr: \"@ana\"\n    default: false\n",
    );
    let codes: Vec<_> = e.iter().map(at).collect();
    assert_eq!(codes, [(4, 3, "missing-field"), (6, 5, "unknown-field")]);
    assert_eq!(e[1].help.as_deref(), Some("did you mean `owner`?"));
}

#[test]
fn naming_errors_point_at_the_offending_segment() {
    let e =
        errors("  release_web_a:\n    description: A.\n    owner: \"@ana\"\n    default: false\n");
    assert_eq!(e.iter().map(at).collect::<Vec<_>>(), [(4, 11, "naming")]);
    assert!(
        e[0].message.contains("unknown area `web`"),
        "{}",
        e[0].message
    );
    let e = errors(
        "  release_studio_A:\n    description: A.\n    owner: \"@ana\"\n    default: false\n",
    );
    assert_eq!(e.iter().map(at).collect::<Vec<_>>(), [(4, 18, "naming")]);
    assert!(e[0].message.contains("upper-case"));
}

#[test]
fn duplicate_keys_name_both_lines() {
    let flag = "    description: A.\n    owner: \"@ana\"\n    default: false\n";
    let e = errors(&format!(
        "  release_studio_a:\n{flag}  release_studio_a:\n{flag}"
    ));
    assert_eq!(
        e.iter().map(at).collect::<Vec<_>>(),
        [(8, 3, "duplicate-key")]
    );
    assert_eq!(e[0].related[0].pos.line, 4);
}

#[test]
fn every_error_is_reported_in_one_pass() {
    let e = errors(concat!(
        "  release_studio_a:\n",                // 4
        "    description: A.\n",                // 5
        "    owner: nobody\n",                  // 6: bad owner
        "    default: maybe\n",                 // 7: wrong default type
        "    expires: 2027-13-01\n",            // 8: bad date
        "  experiment_ai_b:\n",                 // 9
        "    description: B.\n",                // 10
        "    owner: \"@ml\"\n",                 // 11
        "    variants: {control: 50, x: 40}\n", // 12: sum 90
        "    default: y\n",                     // 13: not a variant
    ));
    assert_eq!(
        e.iter().map(at).collect::<Vec<_>>(),
        [
            (6, 12, "bad-owner"),
            (7, 14, "wrong-default"),
            (8, 14, "bad-date"),
            (12, 5, "variant-sum"),
            (13, 14, "wrong-default"),
        ]
    );
}

#[test]
fn identifier_collisions_and_keywords() {
    let flag = "    description: A.\n    owner: \"@ana\"\n    default: false\n";
    let e = errors(&format!(
        "  release_studio_a2:\n{flag}  release_studio_a_2:\n{flag}"
    ));
    assert_eq!(
        e.iter().map(at).collect::<Vec<_>>(),
        [(8, 3, "identifier-collision")]
    );
    let e = errors(
        "  experiment_ai_b:\n    description: B.\n    owner: \"@ml\"\n    variants: {control: 50, self: 50}\n    default: control\n",
    );
    assert_eq!(
        e.iter().map(at).collect::<Vec<_>>(),
        [(7, 29, "bad-identifier")]
    );
}

#[test]
fn syntax_errors_and_empty_files() {
    let p = parse("flags:\n  a: [1, 2\n");
    assert_eq!(
        p.diagnostics.iter().map(at).collect::<Vec<_>>(),
        [(2, 6, "syntax")]
    );
    assert!(p.registry.is_none());
    let p = parse("");
    assert_eq!(
        p.diagnostics.iter().map(at).collect::<Vec<_>>(),
        [(1, 1, "empty-registry")]
    );
}

#[test]
fn dates_in_the_wrong_order() {
    let e = errors(
        "  release_studio_a:\n    description: A.\n    owner: \"@ana\"\n    default: false\n    created: 2027-02-01\n    expires: 2027-01-01\n",
    );
    assert_eq!(
        e.iter().map(at).collect::<Vec<_>>(),
        [(9, 14, "expires-before-created")]
    );
    assert_eq!(e[0].related[0].pos.line, 8);
}

#[test]
fn yaml_1_2_booleans_keep_words_as_strings() {
    // `on` and `no` are strings in YAML 1.2, so they can be variant names.
    let p = parse(&format!(
        "{HEADER}  experiment_ai_b:\n    description: B.\n    owner: \"@ml\"\n    variants: {{on: 50, no: 50}}\n    default: on\n"
    ));
    assert!(p.is_ok(), "{:?}", p.diagnostics);
}
