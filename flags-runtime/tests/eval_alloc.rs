//! Evaluation allocates nothing: a counting global allocator (allocation-counter, per
//! thread) watches every evaluation of every committed vector file, conclusive,
//! inconclusive and erroring cases alike.

use std::path::Path;

use flags_runtime::eval::{EvalContext, Evaluator, Group, Properties, Snapshot};
use serde_json::Value;

/// A vector file's subjects, built once (as a caller builds its property maps once per
/// request).
struct Subject {
    distinct_id: String,
    person: Properties,
    groups: Vec<(String, String, Properties)>,
}

fn python_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn load(name: &str) -> (Snapshot, Vec<(String, Subject)>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/vectors/{name}.json"));
    let text = std::fs::read_to_string(path).expect("vector file");
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    let snapshot = Snapshot::from_value(&doc["definitions"]).expect("definitions compile");
    let empty = serde_json::Map::new();
    let users = doc["users"].as_object().unwrap_or(&empty);
    let mut cases = Vec::new();
    for case in doc["cases"].as_array().expect("cases") {
        let did = python_str(&case["distinct_id"]);
        let user = users.get(&did);
        let field = |f: &str| {
            case.get(f)
                .filter(|v| !v.is_null())
                .or_else(|| user.and_then(|u| u.get(f)))
                .cloned()
                .unwrap_or(Value::Null)
        };
        let person = Properties::from_json(&field("person_properties"));
        let group_props = field("group_properties");
        let groups = field("groups")
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(t, k)| {
                        (
                            t.clone(),
                            python_str(k),
                            Properties::from_json(&group_props[t.as_str()]),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let flag = case["flag"].as_str().unwrap_or_default().to_owned();
        cases.push((
            flag,
            Subject {
                distinct_id: did,
                person,
                groups,
            },
        ));
    }
    (snapshot, cases)
}

#[test]
fn evaluation_does_not_allocate() {
    let mut files: Vec<String> = (1..=5).map(|s| format!("gen-seed{s}")).collect();
    files.extend(
        [
            "gen-heavy-seed6",
            "edge-operators",
            "edge-operators-pmv2",
            "edge-conditions",
            "edge-groups",
            "edge-holdouts",
            "edge-dependencies",
            "edge-cohorts",
            "edge-inline",
            "edge-cycles",
            "posthog-test_multivariate_flag_consistency",
        ]
        .map(String::from),
    );
    let mut total_evaluations = 0u64;
    for name in &files {
        let (snapshot, cases) = load(name);
        let groups: Vec<Vec<Group<'_>>> = cases
            .iter()
            .map(|(_, s)| {
                s.groups
                    .iter()
                    .map(|(t, k, p)| Group::new(t, k, p))
                    .collect()
            })
            .collect();
        let contexts: Vec<(&str, EvalContext<'_>)> = cases
            .iter()
            .zip(&groups)
            .map(|((flag, s), g)| {
                (
                    flag.as_str(),
                    EvalContext::new(&s.distinct_id, &s.person).with_groups(g),
                )
            })
            .collect();
        // Warm-up: the regex crate builds its per-thread match cache on first use.
        for (flag, ctx) in &contexts {
            std::hint::black_box(snapshot.evaluate(flag, ctx));
        }
        let mut enabled = 0u64;
        let info = allocation_counter::measure(|| {
            for _ in 0..3 {
                for (flag, ctx) in &contexts {
                    let e = snapshot.evaluate(flag, ctx);
                    enabled += u64::from(e.value.is_some_and(|v| v.is_enabled()));
                    std::hint::black_box(e);
                }
            }
        });
        std::hint::black_box(enabled);
        total_evaluations += 3 * contexts.len() as u64;
        assert_eq!(
            info.count_total,
            0,
            "{name}: {} allocations ({} bytes) over {} evaluations",
            info.count_total,
            info.bytes_total,
            3 * contexts.len()
        );
    }
    eprintln!("0 allocations over {total_evaluations} evaluations");
}

/// Loading the current snapshot from an [`Evaluator`] (the atomically swapped holder) and
/// evaluating through it allocates nothing either.
#[test]
fn evaluator_load_does_not_allocate() {
    let (snapshot, cases) = load("gen-seed2");
    let evaluator = Evaluator::new(snapshot);
    let contexts: Vec<(&str, EvalContext<'_>)> = cases
        .iter()
        .map(|(flag, s)| (flag.as_str(), EvalContext::new(&s.distinct_id, &s.person)))
        .collect();
    // Warm-up: arc-swap registers this thread on its first load.
    for (flag, ctx) in &contexts {
        std::hint::black_box(evaluator.load().evaluate(flag, ctx));
    }
    let info = allocation_counter::measure(|| {
        for (flag, ctx) in &contexts {
            let snap = evaluator.load();
            std::hint::black_box(snap.evaluate(flag, ctx));
        }
    });
    assert_eq!(info.count_total, 0, "{} allocations", info.count_total);
}

/// The counter does see allocations (the assertion above is not vacuous).
#[test]
fn counter_sees_allocations() {
    let info = allocation_counter::measure(|| {
        std::hint::black_box(String::from("allocates"));
    });
    assert!(info.count_total > 0);
}
