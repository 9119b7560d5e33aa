//! Agreement with the oracle (posthog-python's own local evaluation) on every committed
//! vector file: `tests/vectors/<name>.json` is the input, `<name>.expected.jsonl` the
//! oracle's answers (regenerate both with `scripts/oracle/regenerate.sh`).

use std::path::{Path, PathBuf};

use flags_runtime::eval::oracle_format::run_value;
use serde_json::Value;

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// Names of the vector files (`<name>.expected.jsonl`) whose name starts with `prefix`.
fn vector_names(prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(vectors_dir())
        .expect("vectors dir")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".expected.jsonl").map(str::to_owned))
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort();
    names
}

/// Runs one vector file; returns (cases, mismatches as printable lines).
fn check(name: &str) -> (usize, Vec<String>) {
    let dir = vectors_dir();
    let input = std::fs::read_to_string(dir.join(format!("{name}.json")))
        .unwrap_or_else(|e| panic!("{name}.json: {e}"));
    let expected = std::fs::read_to_string(dir.join(format!("{name}.expected.jsonl")))
        .unwrap_or_else(|e| panic!("{name}.expected.jsonl: {e}"));
    let doc: Value = serde_json::from_str(&input).expect("input is JSON");
    let got = run_value(&doc).expect("input runs");
    let expected: Vec<Value> = expected
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("expected line is JSON"))
        .collect();
    assert_eq!(got.len(), expected.len(), "{name}: number of results");
    let mut mismatches = Vec::new();
    for (g, e) in got.iter().zip(&expected) {
        let g = g.to_value();
        let fields = ["value", "payload", "inconclusive", "reason"];
        if fields.iter().any(|f| g.get(f) != e.get(f)) {
            mismatches.push(format!(
                "{name} case {}: flag {} distinct_id {}: expected {} got {}",
                e["i"],
                e["flag"],
                e["distinct_id"],
                serde_json::json!({"value": e["value"], "payload": e["payload"], "inconclusive": e["inconclusive"], "reason": e["reason"]}),
                serde_json::json!({"value": g["value"], "payload": g["payload"], "inconclusive": g["inconclusive"], "reason": g["reason"]}),
            ));
        }
    }
    (expected.len(), mismatches)
}

fn assert_agrees(name: &str) {
    let (n, mismatches) = check(name);
    assert!(n > 0, "{name}: no cases");
    if !mismatches.is_empty() {
        for m in mismatches.iter().take(25) {
            eprintln!("{m}");
        }
        panic!(
            "{name}: {} of {n} cases disagree with the oracle",
            mismatches.len()
        );
    }
    eprintln!("{name}: {n} of {n} cases agree with the oracle");
}

#[test]
fn generated_seed_1() {
    assert_agrees("gen-seed1");
}

#[test]
fn generated_seed_2() {
    assert_agrees("gen-seed2");
}

#[test]
fn generated_seed_3() {
    assert_agrees("gen-seed3");
}

#[test]
fn generated_seed_4() {
    assert_agrees("gen-seed4");
}

#[test]
fn generated_seed_5() {
    assert_agrees("gen-seed5");
}

/// Seed 6 with more group flags, dependencies, cohorts, missing properties and early exits.
#[test]
fn generated_heavy_mix() {
    assert_agrees("gen-heavy-seed6");
}

#[test]
fn posthog_simple_flag_consistency() {
    assert_agrees("posthog-test_simple_flag_consistency");
}

#[test]
fn posthog_multivariate_flag_consistency() {
    assert_agrees("posthog-test_multivariate_flag_consistency");
}

/// PostHog's own expected lists (from posthog-python's test module, kept in `meta.expected`)
/// must agree as well, not only the oracle's run of them.
#[test]
fn posthog_fixture_expectations() {
    for name in [
        "posthog-test_simple_flag_consistency",
        "posthog-test_multivariate_flag_consistency",
    ] {
        let text = std::fs::read_to_string(vectors_dir().join(format!("{name}.json")))
            .expect("fixture exists");
        let doc: Value = serde_json::from_str(&text).expect("fixture is JSON");
        let expected = doc["meta"]["expected"].as_array().expect("meta.expected");
        assert_eq!(expected.len(), 1000);
        let got = run_value(&doc).expect("fixture runs");
        for (g, e) in got.iter().zip(expected) {
            // posthog-python's test asserts falsiness for `False` entries, equality otherwise.
            let ok = match e {
                Value::Bool(false) => g.value == Value::Bool(false),
                other => &g.value == other,
            };
            assert!(ok, "{name} id {}: expected {e} got {}", g.i, g.value);
        }
    }
}

/// Every `edge-*.json` file (hand-written inputs, oracle answers).
#[test]
fn edge_cases() {
    let names = vector_names("edge-");
    let mut failures = Vec::new();
    for name in &names {
        let (n, mismatches) = check(name);
        eprintln!("{name}: {} of {n} cases agree", n - mismatches.len());
        failures.extend(mismatches);
    }
    for m in failures.iter().take(40) {
        eprintln!("{m}");
    }
    assert!(
        failures.is_empty(),
        "{} edge cases disagree",
        failures.len()
    );
}

/// The 100,000-case workload (`scripts/oracle/regenerate.sh --bench` writes it to
/// `target/eval-bench/`, not committed: ~25 MB). Skipped when absent.
#[test]
fn bench_workload_if_generated() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/eval-bench");
    let input = dir.join("seed1-10k.json");
    let expected = dir.join("seed1-10k.expected.jsonl");
    let (Ok(input), Ok(expected)) = (
        std::fs::read_to_string(&input),
        std::fs::read_to_string(&expected),
    ) else {
        eprintln!("skipped: run scripts/oracle/regenerate.sh --bench to create {input:?}");
        return;
    };
    let doc: Value = serde_json::from_str(&input).expect("input is JSON");
    let got = run_value(&doc).expect("input runs");
    let mut bad = 0;
    let mut n = 0;
    for (g, line) in got.iter().zip(expected.lines()) {
        n += 1;
        let e: Value = serde_json::from_str(line).expect("expected line is JSON");
        let g = g.to_value();
        if ["value", "payload", "inconclusive", "reason"]
            .iter()
            .any(|f| g.get(f) != e.get(f))
        {
            if bad < 10 {
                eprintln!("case {}: expected {e} got {g}", e["i"]);
            }
            bad += 1;
        }
    }
    assert_eq!(n, got.len());
    assert_eq!(bad, 0, "{bad} of {n} bench cases disagree with the oracle");
    eprintln!("bench workload: {n} of {n} cases agree with the oracle");
}

/// `oracle_format::run` prints the oracle's own bytes (what `flagsync eval` will print), on
/// every committed vector file. (Payload objects are printed with sorted keys; the
/// generated payloads have sorted or single keys.)
#[test]
fn output_lines_are_byte_identical() {
    let names = vector_names("");
    let mut lines = 0;
    for name in &names {
        let dir = vectors_dir();
        let input = std::fs::read_to_string(dir.join(format!("{name}.json"))).expect("input");
        let expected =
            std::fs::read_to_string(dir.join(format!("{name}.expected.jsonl"))).expect("expected");
        let got = flags_runtime::eval::oracle_format::run(&input).expect("runs");
        let expected: Vec<&str> = expected.lines().collect();
        assert_eq!(got.len(), expected.len(), "{name}");
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(g, e, "{name}");
        }
        lines += got.len();
    }
    eprintln!("{lines} lines byte-identical across {} files", names.len());
}
