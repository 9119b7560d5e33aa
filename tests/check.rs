//! `flagsync check` end to end: the real binary on good, bad and stale registries.

use std::process::{Command, Output};

fn flagsync(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flagsync"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run flagsync")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON document")
}

#[test]
fn the_repository_registry_is_clean() {
    // A fixed date inside every flag's lifetime: the result does not depend on the day CI runs.
    let out = flagsync(&["check", "--today", "2026-11-21", "--format", "json"]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(report["errors"], 0);
    assert_eq!(report["findings"], 0);
    assert_eq!(report["flags"], 8);
}

#[test]
fn an_invalid_registry_exits_2_with_every_error_located() {
    let out = flagsync(&[
        "check",
        "--file",
        "tests/check/invalid.yaml",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    let found: Vec<(u64, u64, String)> = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            (
                d["line"].as_u64().unwrap_or(0),
                d["column"].as_u64().unwrap_or(0),
                d["code"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (8, 5, "unknown-field".to_string()),
            (9, 11, "naming".to_string()),
            (16, 5, "variant-sum".to_string())
        ]
    );
    assert_eq!(report["errors"], 3);
    assert!(
        report["diagnostics"][0]["help"]
            .as_str()
            .is_some_and(|h| h.contains("tags"))
    );
}

#[test]
fn governance_findings_exit_2_but_are_warnings() {
    let out = flagsync(&[
        "check",
        "--file",
        "tests/check/governance.yaml",
        "--today",
        "2027-01-10",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let report = json(&out);
    assert_eq!(report["errors"], 0);
    let codes: Vec<&str> = report["diagnostics"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert_eq!(
        codes,
        [
            "expired",
            "expiring-soon",
            "no-backup-owner",
            "past-lifetime"
        ]
    );
    assert!(
        report["diagnostics"]
            .as_array()
            .expect("list")
            .iter()
            .all(|d| d["severity"] == "warning")
    );
}

#[test]
fn github_format_annotates_the_yaml_lines() {
    let out = flagsync(&[
        "check",
        "--file",
        "tests/check/invalid.yaml",
        "--format",
        "github",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(
            "::error file=tests/check/invalid.yaml,line=8,col=5,title=flags unknown-field::"
        ),
        "{first}"
    );
}

#[test]
fn human_format_renders_snippets_on_stderr() {
    let out = flagsync(&["check", "--file", "tests/check/invalid.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("--> tests/check/invalid.yaml:8:5"), "{text}");
    assert!(text.contains("= help:"), "{text}");
    assert!(out.stdout.is_empty());
}

#[test]
fn tool_failures_exit_1() {
    let out = flagsync(&["check", "--file", "tests/check/missing.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tests/check/missing.yaml"));
    let out = flagsync(&["check", "--format", "xml"]);
    assert_eq!(out.status.code(), Some(1));
    let out = flagsync(&["check", "--today", "2027-02-30"]);
    assert_eq!(out.status.code(), Some(1));
}
