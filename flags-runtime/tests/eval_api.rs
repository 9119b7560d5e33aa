//! The public API of `flags_runtime::eval`: reasons, payloads, contexts, property maps and
//! the atomically swapped snapshot.

use std::sync::Arc;

use flags_runtime::eval::{
    Definitions, EvalContext, Evaluator, FlagValue, Group, InconclusiveReason, Properties,
    PropertyRef, Reason, Snapshot,
};
use serde_json::json;

fn snapshot() -> Snapshot {
    Snapshot::from_value(&json!({
        "flags": [
            {"key": "pro-only", "active": true, "filters": {
                "groups": [
                    {"properties": [{"key": "plan", "operator": "exact", "value": ["free"], "type": "person"}],
                     "rollout_percentage": 100},
                    {"properties": [{"key": "plan", "operator": "exact", "value": ["pro"], "type": "person"}],
                     "rollout_percentage": 100}],
                "payloads": {"true": "{\"limit\": 10}", "false": "\"none\""}}},
            {"key": "nobody", "active": true, "filters": {"groups": [{"properties": [], "rollout_percentage": 0}]}},
            {"key": "off", "active": false, "filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}},
            {"key": "held", "active": true, "filters": {"groups": [{"rollout_percentage": 100}],
                "holdout": {"id": 3, "exclusion_percentage": 100}}},
            {"key": "org", "active": true, "filters": {"aggregation_group_type_index": 0,
                "groups": [{"properties": [{"key": "tier", "operator": "exact", "value": "gold", "type": "group",
                            "group_type_index": 0}], "rollout_percentage": 100}]}},
            {"key": "by-device", "active": true, "bucketing_identifier": "device_id",
             "filters": {"groups": [{"rollout_percentage": 100}]}},
            {"key": "variants", "active": true, "filters": {"groups": [{"rollout_percentage": 100}],
                "multivariate": {"variants": [{"key": "only", "rollout_percentage": 100}]},
                "payloads": {"only": "[1, 2]"}}}
        ],
        "group_type_mapping": {"0": "organization"},
        "cohorts": {}
    }))
    .expect("definitions compile")
}

#[test]
fn reasons_values_and_payloads() {
    let snap = snapshot();
    let mut pro = Properties::new();
    pro.insert("plan", "pro");
    let ctx = EvalContext::new("user-1", &pro);

    let e = snap.evaluate("pro-only", &ctx);
    assert_eq!(e.value, Some(FlagValue::Bool(true)));
    assert_eq!(e.reason, Reason::ConditionMatch { index: 1 });
    assert_eq!(e.payload, Some(&json!({"limit": 10})));

    let mut free = Properties::new();
    free.insert("plan", "team");
    let e = snap.evaluate("pro-only", &EvalContext::new("user-2", &free));
    assert_eq!(e.value, Some(FlagValue::Bool(false)));
    assert_eq!(e.reason, Reason::NoConditionMatch);
    assert_eq!(e.payload, Some(&json!("none")));

    let e = snap.evaluate("nobody", &ctx);
    assert_eq!(e.reason, Reason::OutOfRollout { index: 0 });
    assert_eq!(snap.evaluate("off", &ctx).reason, Reason::Disabled);

    let e = snap.evaluate("held", &ctx);
    assert_eq!(e.value, Some(FlagValue::Variant("holdout-3")));
    assert_eq!(e.reason, Reason::Holdout);

    let e = snap.evaluate("variants", &ctx);
    assert_eq!(
        e.value.and_then(|v| v.variant().map(str::to_owned)),
        Some("only".to_owned())
    );
    assert_eq!(e.payload, Some(&json!([1, 2])));

    let e = snap.evaluate("missing", &ctx);
    assert_eq!((e.value, e.reason), (None, Reason::FlagNotFound));

    // A missing property is inconclusive, not false.
    let empty = Properties::new();
    let e = snap.evaluate("pro-only", &EvalContext::new("user-3", &empty));
    assert!(e.is_inconclusive());
    assert_eq!(
        e.reason,
        Reason::Inconclusive(InconclusiveReason::MissingContext)
    );
    assert_eq!(
        InconclusiveReason::MissingContext.as_str(),
        "missing_context"
    );
}

#[test]
fn groups_and_device_ids() {
    let snap = snapshot();
    let person = Properties::new();
    let mut gold = Properties::new();
    gold.insert("tier", "gold");
    let groups = [Group::new("organization", "org-1", &gold)];

    let no_group = EvalContext::new("u", &person);
    assert_eq!(
        snap.evaluate("org", &no_group).reason,
        Reason::GroupNotProvided
    );
    let with_group = EvalContext::new("u", &person).with_groups(&groups);
    assert_eq!(
        snap.evaluate("org", &with_group).value,
        Some(FlagValue::Bool(true))
    );

    assert_eq!(
        snap.evaluate("by-device", &no_group).reason,
        Reason::Inconclusive(InconclusiveReason::MissingContext)
    );
    let with_device = EvalContext::new("u", &person).with_device_id("device-9");
    assert_eq!(
        snap.evaluate("by-device", &with_device).value,
        Some(FlagValue::Bool(true))
    );
}

#[test]
fn flag_ids_skip_the_key_lookup() {
    let snap = snapshot();
    let props = Properties::new();
    let ctx = EvalContext::new("u", &props);
    let id = snap.flag_id("off").expect("flag exists");
    assert_eq!(snap.evaluate_id(id, &ctx), snap.evaluate("off", &ctx));
    assert_eq!(snap.len(), 7);
    assert!(snap.keys().any(|k| k == "held"));
}

#[test]
fn property_maps() {
    let mut p: Properties = [("b", json!(1)), ("a", json!("x")), ("b", json!(2.5))]
        .iter()
        .map(|(k, v)| (*k, flags_runtime::eval::PropertyValue::from_json(v)))
        .collect();
    assert_eq!(p.len(), 2);
    assert_eq!(p.get("b"), Some(PropertyRef::Float(2.5)));
    p.insert("a", "a much longer string than fits inline");
    assert_eq!(
        p.get("a"),
        Some(PropertyRef::Str("a much longer string than fits inline"))
    );
    p.insert("$feature/some-very-long-key-a", true);
    p.insert("$feature/some-very-long-key-b", false);
    assert_eq!(
        p.get("$feature/some-very-long-key-b"),
        Some(PropertyRef::Bool(false))
    );
    assert_eq!(p.get("$feature/some-very-long-key"), None);
    let keys: Vec<&str> = p.iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            "$feature/some-very-long-key-a",
            "$feature/some-very-long-key-b",
            "a",
            "b"
        ]
    );
    // Many keys: the binary-search path.
    let big: Properties = (0..100).map(|i| (format!("k{i:03}"), i as i64)).collect();
    for i in 0..100 {
        assert_eq!(big.get(&format!("k{i:03}")), Some(PropertyRef::Int(i)));
    }
    assert_eq!(big.get("k100"), None);
}

#[test]
fn evaluator_swaps_snapshots_atomically() {
    let evaluator = Arc::new(Evaluator::new(snapshot()));
    let props = Properties::new();
    {
        let snap = evaluator.load();
        let e = snap.evaluate("off", &EvalContext::new("u", &props));
        assert_eq!(e.reason, Reason::Disabled);
    }
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let ev = Arc::clone(&evaluator);
            std::thread::spawn(move || {
                let props = Properties::new();
                let ctx = EvalContext::new("u", &props);
                for _ in 0..2000 {
                    let snap = ev.load();
                    // Either the old definitions (disabled) or the new (on): never a mix.
                    let e = snap.evaluate("off", &ctx);
                    assert!(matches!(
                        e.reason,
                        Reason::Disabled | Reason::ConditionMatch { .. }
                    ));
                }
            })
        })
        .collect();
    let on = Definitions::from_json_str(
        r#"{"flags": [{"key": "off", "active": true, "filters": {"groups": [{"rollout_percentage": 100}]}}]}"#,
    )
    .expect("parses");
    for _ in 0..50 {
        evaluator.update(&on);
        evaluator.store(snapshot());
    }
    evaluator.update(&on);
    for r in readers {
        r.join().expect("reader thread");
    }
    let snap = evaluator.snapshot();
    assert_eq!(
        snap.evaluate("off", &EvalContext::new("u", &props)).value,
        Some(FlagValue::Bool(true))
    );
}

#[test]
fn oracle_format_lines() {
    let input = json!({
        "definitions": {"flags": [{"key": "f", "active": true, "filters": {"groups": [{"rollout_percentage": 100}],
                        "payloads": {"true": "{\"é\": 1.0}"}}}]},
        "cases": [{"flag": "f", "distinct_id": "ü"}, {"flag": "g", "distinct_id": 7}]
    });
    let lines = flags_runtime::eval::oracle_format::run(&input.to_string()).expect("runs");
    assert_eq!(
        lines,
        [
            r#"{"i":0,"flag":"f","distinct_id":"\u00fc","value":true,"payload":{"\u00e9":1.0},"inconclusive":false,"reason":null}"#,
            r#"{"i":1,"flag":"g","distinct_id":7,"value":null,"payload":null,"inconclusive":true,"reason":"flag_not_found"}"#,
        ]
    );
    assert!(flags_runtime::eval::oracle_format::run("not json").is_err());
}

/// Property maps agree with a `BTreeMap` on keys that share long prefixes, differ only in
/// length or in bytes past the sixteenth, or contain NUL bytes; inserted in any order.
#[test]
fn property_maps_agree_with_btreemap() {
    let stems = [
        "",
        "a",
        "abcdefgh",
        "abcdefgh1234567",
        "abcdefgh12345678",
        "\u{0}",
        "é",
    ];
    let tails = ["", "\u{0}", "x", "9", "abcdefgh12345678-tail", "ü"];
    let mut keys: Vec<String> = Vec::new();
    for s in stems {
        for t in tails {
            keys.push(format!("{s}{t}"));
        }
    }
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for round in 0..20 {
        let mut order = keys.clone();
        for i in (1..order.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            order.swap(i, (seed % (i as u64 + 1)) as usize);
        }
        let mut model = std::collections::BTreeMap::new();
        let mut props = Properties::new();
        for (i, k) in order.iter().enumerate() {
            if (i + round) % 3 == 0 {
                continue;
            }
            model.insert(k.clone(), i as i64);
            props.insert(k.as_str(), i as i64);
        }
        let collected: Properties = model.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        for k in &keys {
            let want = model.get(k).map(|v| PropertyRef::Int(*v));
            assert_eq!(props.get(k), want, "{k:?}");
            assert_eq!(collected.get(k), want, "{k:?}");
        }
        let got: Vec<&str> = props.iter().map(|(k, _)| k).collect();
        let want: Vec<&str> = model.keys().map(String::as_str).collect();
        assert_eq!(got, want);
    }
}
