//! Evaluation never panics, whatever the definitions and the context hold: every vector's
//! definitions, randomly mutated (deterministic PRNG), compiled and evaluated against
//! contexts with hostile values; plus cycles and very deep nesting.

use std::path::Path;

use flags_runtime::eval::{EvalContext, Group, Properties, PropertyValue, Reason, Snapshot};
use serde_json::{Value, json};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn palette(rng: &mut Rng) -> Value {
    let choices = [
        Value::Null,
        json!(true),
        json!(false),
        json!(0),
        json!(-1),
        json!(1e308),
        json!(-0.0),
        json!(u64::MAX),
        json!(""),
        json!("x"),
        json!("-5é"),
        json!("2024"),
        json!("9999-12-31T23:59:59+23:59"),
        json!("(?:"),
        json!("a**"),
        json!("\\"),
        json!("v1.2.3-rc"),
        json!("-10000d"),
        json!("*"),
        json!("holdout"),
        json!("flag_evaluates_to"),
        json!("not_in"),
        json!("regex"),
        json!("semver_caret"),
        json!("is_date_after"),
        json!("cohort"),
        json!("flag"),
        json!("AND"),
        json!([]),
        json!({}),
        json!([1, "a", null]),
        json!({"type": "OR", "values": [{}]}),
        json!({"key": "id", "type": "cohort", "value": 1}),
        json!({"id": 1, "exclusion_percentage": "nan"}),
        json!([{"key": "a", "rollout_percentage": 1e300}]),
    ];
    choices[rng.below(choices.len())].clone()
}

/// Replaces, deletes or inserts at a random place in `v`.
fn mutate(v: &mut Value, rng: &mut Rng, depth: usize) {
    let descend = depth < 12 && rng.below(4) != 0;
    match v {
        Value::Object(map) if !map.is_empty() => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let k = keys[rng.below(keys.len())].clone();
            if descend {
                if let Some(child) = map.get_mut(&k) {
                    mutate(child, rng, depth + 1);
                }
            } else if rng.below(3) == 0 {
                map.remove(&k);
            } else {
                map.insert(k, palette(rng));
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let i = rng.below(items.len());
            if descend {
                mutate(&mut items[i], rng, depth + 1);
            } else if rng.below(3) == 0 {
                items.remove(i);
            } else if rng.below(2) == 0 {
                let dup = items[i].clone();
                items.push(dup);
            } else {
                items[i] = palette(rng);
            }
        }
        other => *other = palette(rng),
    }
}

fn hostile_props() -> Properties {
    let mut p = Properties::new();
    for (k, v) in [
        ("email", json!("Ünï@cödé.com\n")),
        ("plan", json!(["pro", {"x": [1.5e-7, null]}])),
        ("age", json!(1e308)),
        ("projects_count", json!(-0.0)),
        ("signup_date", json!("2024-02-30T25:61:61Z")),
        ("app_version", json!("٣.٢.١")),
        ("is_beta", json!({"nested": true})),
        ("browser", json!("a\u{1c}b")),
        ("os", json!(u64::MAX)),
        ("name", json!("")),
        ("country", Value::Null),
    ] {
        p.insert(k, PropertyValue::from_json(&v));
    }
    p
}

fn evaluate_all(snapshot: &Snapshot, contexts: &[EvalContext<'_>]) {
    let keys: Vec<String> = snapshot.keys().map(str::to_owned).collect();
    for ctx in contexts {
        for k in &keys {
            let e = snapshot.evaluate(k, ctx);
            // A value and an inconclusive reason never come together.
            if let Reason::Inconclusive(_) | Reason::Error | Reason::FlagNotFound = e.reason {
                assert!(e.value.is_none());
            } else {
                assert!(e.value.is_some());
            }
        }
        std::hint::black_box(snapshot.evaluate("no-such-flag", ctx));
    }
}

#[test]
fn mutated_definitions_never_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut docs = Vec::new();
    for name in [
        "gen-seed1",
        "edge-cohorts",
        "edge-dependencies",
        "edge-conditions",
        "edge-holdouts",
    ] {
        let text = std::fs::read_to_string(dir.join(format!("{name}.json"))).expect("vector");
        let doc: Value = serde_json::from_str(&text).expect("JSON");
        docs.push(doc["definitions"].clone());
    }
    let person = hostile_props();
    let plain = Properties::from_json(&json!({"email": "a@b.c", "plan": "pro", "age": 30}));
    let org = Properties::from_json(&json!({"plan": "pro", "employees": "lots"}));
    let groups = [
        Group::new("organization", "org_1", &org),
        Group::new("project", "", &person),
    ];
    let contexts = [
        EvalContext::new("user-1", &person).with_groups(&groups),
        EvalContext::new("", &plain).with_device_id(""),
        EvalContext::new("ünïcode", &plain)
            .with_device_id("dev-1")
            .with_groups(&groups[..1]),
    ];
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for round in 0..300 {
        let mut defs = docs[round % docs.len()].clone();
        for _ in 0..(1 + rng.below(8)) {
            mutate(&mut defs, &mut rng, 0);
        }
        if let Ok(snapshot) = Snapshot::from_value(&defs) {
            evaluate_all(&snapshot, &contexts);
        }
    }
}

#[test]
fn cycles_and_deep_nesting_end_in_an_error_not_a_hang() {
    // Cohorts that include each other, a flag depending on itself through a chain, and a
    // cohort nested far deeper than any real definition.
    let leaf = json!({"key": "plan", "type": "person", "operator": "is_set", "value": "is_set"});
    let nest = |levels: usize| {
        let mut v = leaf.clone();
        for _ in 0..levels {
            v = json!({"type": "AND", "values": [v]});
        }
        v
    };
    let defs = json!({
        "flags": [
            {"key": "a", "active": true, "filters": {"groups": [{"properties": [
                {"key": "b", "type": "flag", "operator": "flag_evaluates_to", "value": true,
                 "dependency_chain": ["b"]}], "rollout_percentage": 100}]}},
            {"key": "b", "active": true, "filters": {"groups": [{"properties": [
                {"key": "a", "type": "flag", "operator": "flag_evaluates_to", "value": true,
                 "dependency_chain": ["a"]}], "rollout_percentage": 100}]}},
            {"key": "c", "active": true, "filters": {"groups": [{"properties": [
                {"key": "id", "type": "cohort", "value": 1}], "rollout_percentage": 100}]}},
            {"key": "d", "active": true, "filters": {"groups": [{"properties": [
                {"key": "id", "type": "cohort", "value": 3}], "rollout_percentage": 100}]}},
            {"key": "e", "active": true, "filters": {"groups": [{"properties": [
                {"key": "id", "type": "cohort", "value": 4}], "rollout_percentage": 100}]}},
        ],
        "cohorts": {
            "1": {"type": "OR", "values": [{"key": "id", "type": "cohort", "value": 2},
                                           {"key": "id", "type": "cohort", "value": 2}]},
            "2": {"type": "OR", "values": [{"key": "id", "type": "cohort", "value": 1},
                                           {"key": "id", "type": "cohort", "value": 1}]},
            "3": nest(120),
            "4": nest(300),
        }
    });
    let snapshot = Snapshot::from_value(&defs).expect("compiles");
    let props = Properties::from_json(&json!({"plan": "pro"}));
    let ctx = EvalContext::new("u", &props);
    for key in ["a", "b", "c", "e"] {
        let e = snapshot.evaluate(key, &ctx);
        assert_eq!(e.reason, Reason::Error, "{key}: {e:?}");
        assert_eq!(e.value, None);
    }
    // 120 levels is deep but finite: evaluated (as the SDK does).
    assert_eq!(
        snapshot.evaluate("d", &ctx).value,
        Some(flags_runtime::eval::FlagValue::Bool(true))
    );
}
