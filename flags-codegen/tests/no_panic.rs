//! No input of any shape makes parsing or expansion panic: every one-character deletion,
//! duplication and replacement of the repository's own flags.yaml, plus hostile shapes.

use flags_codegen::expand::{ExpandOptions, expand};

fn run(text: &str) {
    let parsed = flags_codegen::parse(text);
    let _ = expand(parsed.registry.as_ref(), &ExpandOptions::default());
    for d in &parsed.diagnostics {
        let _ = d.render("flags.yaml", text);
    }
}

#[test]
fn mutations_of_the_real_registry_never_panic() {
    let original = include_str!("../../flags.yaml");
    let chars: Vec<char> = original.chars().collect();
    let replacements = [':', '-', ' ', '"', '{', '[', '\n', 'A', '#', '&', '*', '!'];
    // Every 3rd position keeps the test quick while covering every line.
    for i in (0..chars.len()).step_by(3) {
        let mut deleted = chars.clone();
        deleted.remove(i);
        run(&deleted.iter().collect::<String>());
        let mut doubled = chars.clone();
        doubled.insert(i, chars[i]);
        run(&doubled.iter().collect::<String>());
        let mut replaced = chars.clone();
        replaced[i] = replacements[i % replacements.len()];
        run(&replaced.iter().collect::<String>());
    }
}

#[test]
fn hostile_shapes_never_panic() {
    let cases = [
        "",
        "~",
        "[]",
        "42",
        "flags: 3",
        "flags: [a, b]",
        "naming: []\nflags: {}",
        "naming: {pattern: \"{\"}\nflags: {a: {}}",
        "naming: {pattern: \"{a}{b}\"}\nflags: {x: {}}",
        "naming: {pattern: \"\"}\nflags: {x: {}}",
        "naming: {areas: [x]}\nflags: {release_x_y: {variants: {}, default: 1}}",
        "naming: {areas: [x]}\nflags: {release_x_y: {variants: [a, b]}}",
        "naming: {areas: [x]}\nflags: {release_x_y: {variants: {a: -1, b: 101}}}",
        "naming: {areas: [x]}\nflags: {release_x_y: {variants: {a: 99999999999999999999}}}",
        "naming: {areas: [x]}\nflags: {release_x_y: {payloads: {true: {a: [1, {b: null}]}}}}",
        "naming: {areas: [x]}\nflags: {release_x_y: {guardian: {metrics: [1, {event: 2}], alpha: 7}}}",
        "naming: {areas: [x]}\nflags: {\"\": {}, _: {}, \"ü\": {}, \"release_x_\\u0000\": {}}",
        "a: &x [*x]",
        "a: &a {b: *a}",
        "? [complex, key]\n: value",
        "--- \n...\n---\nflags: {}",
        "\u{feff}naming: {areas: [x]}",
        "flags:\n\t- tab",
    ];
    for case in cases {
        run(case);
    }
}
