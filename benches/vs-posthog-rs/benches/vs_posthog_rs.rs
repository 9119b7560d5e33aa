//! flags-runtime's local evaluation against posthog-rs 0.30's
//! `LocalEvaluator::evaluate_flag`, on the same cases, single thread, in one criterion run.
//!
//! Input: the workload, `gen_cases.py --seed 1 --flags 20 --users 10000 --cases
//! 100000` (`EVAL_BENCH_INPUT`; `scripts/bench-vs-posthog-rs.sh` creates it). Each side gets
//! what it needs built once per user, as an application builds it once per request: our
//! `Properties`, posthog-rs's `HashMap`s. Each iteration evaluates every case once, so
//! criterion's time per element is the time per evaluation.

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{Criterion, Throughput};
use flags_runtime::eval::{EvalContext, Evaluator, FlagValue, Group, Properties, Snapshot};
use posthog_rs::{FlagCache, LocalEvaluationResponse, LocalEvaluator};
use serde_json::Value;

struct Ours {
    distinct_id: String,
    person: Properties,
    groups: Vec<(String, String, Properties)>,
}

struct Theirs {
    person: HashMap<String, Value>,
    groups: HashMap<String, String>,
    group_properties: HashMap<String, HashMap<String, Value>>,
}

fn key_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn main() {
    let path = std::env::var("EVAL_BENCH_INPUT").unwrap_or_else(|_| {
        eprintln!("set EVAL_BENCH_INPUT (scripts/bench-vs-posthog-rs.sh does)");
        std::process::exit(2);
    });
    let text = std::fs::read_to_string(&path).expect("read the bench input");
    let doc: Value = serde_json::from_str(&text).expect("bench input is JSON");
    let definitions = &doc["definitions"];

    // Ours.
    let snapshot = Snapshot::from_value(definitions).expect("definitions compile");
    // Theirs.
    let response: LocalEvaluationResponse =
        serde_json::from_value(definitions.clone()).expect("posthog-rs reads the definitions");
    let cache = FlagCache::new();
    cache.update(response);
    let theirs_eval = LocalEvaluator::new(cache);

    let empty = serde_json::Map::new();
    let users = doc["users"].as_object().unwrap_or(&empty);
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut ours: Vec<Ours> = Vec::new();
    let mut theirs: Vec<Theirs> = Vec::new();
    for (did, u) in users {
        index.insert(did.as_str(), ours.len());
        let gp = &u["group_properties"];
        let groups: Vec<(String, String)> = u["groups"]
            .as_object()
            .map(|m| m.iter().map(|(t, k)| (t.clone(), key_str(k))).collect())
            .unwrap_or_default();
        ours.push(Ours {
            distinct_id: did.clone(),
            person: Properties::from_json(&u["person_properties"]),
            groups: groups
                .iter()
                .map(|(t, k)| (t.clone(), k.clone(), Properties::from_json(&gp[t.as_str()])))
                .collect(),
        });
        let map = |v: &Value| -> HashMap<String, Value> {
            v.as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default()
        };
        theirs.push(Theirs {
            person: map(&u["person_properties"]),
            groups: groups.iter().cloned().collect(),
            group_properties: groups
                .iter()
                .map(|(t, _)| (t.clone(), map(&gp[t.as_str()])))
                .collect(),
        });
    }
    let group_refs: Vec<Vec<Group<'_>>> = ours
        .iter()
        .map(|u| {
            u.groups
                .iter()
                .map(|(t, k, p)| Group::new(t, k, p))
                .collect()
        })
        .collect();
    let contexts: Vec<EvalContext<'_>> = ours
        .iter()
        .zip(&group_refs)
        .map(|(u, g)| EvalContext::new(&u.distinct_id, &u.person).with_groups(g))
        .collect();
    // Flag keys as an application holds them: a few static strings.
    let keys: HashMap<String, &'static str> = snapshot
        .keys()
        .map(|k| (k.to_owned(), &*Box::leak(k.to_owned().into_boxed_str())))
        .collect();
    let cases: Vec<(&'static str, usize)> = doc["cases"]
        .as_array()
        .map(|cases| {
            cases
                .iter()
                .filter_map(|c| {
                    let flag = *keys.get(c["flag"].as_str()?)?;
                    Some((flag, *index.get(key_str(&c["distinct_id"]).as_str())?))
                })
                .collect()
        })
        .unwrap_or_default();

    // How often the two agree (ours agrees with posthog-python on all of these; see
    // flags-runtime/tests/eval_vectors.rs), counting "inconclusive" as an answer.
    let agree = cases
        .iter()
        .filter(|(flag, u)| {
            let a = snapshot.evaluate(flag, &contexts[*u]).value;
            let t = &theirs[*u];
            let b = theirs_eval.evaluate_flag(
                flag,
                &ours[*u].distinct_id,
                &t.person,
                &t.groups,
                &t.group_properties,
            );
            match (a, b) {
                (None, Err(_)) => true,
                (Some(FlagValue::Bool(x)), Ok(Some(posthog_rs::FlagValue::Boolean(y)))) => x == y,
                (Some(FlagValue::Variant(x)), Ok(Some(posthog_rs::FlagValue::String(y)))) => x == y,
                _ => false,
            }
        })
        .count();
    eprintln!(
        "vs-posthog-rs: {} cases, {} users, {} flags; posthog-rs agrees with us (and posthog-python) on {agree} of {} ({:.1}%)",
        cases.len(),
        ours.len(),
        snapshot.len(),
        cases.len(),
        100.0 * agree as f64 / cases.len().max(1) as f64
    );

    let evaluator = Evaluator::new(snapshot);
    let snapshot = evaluator.snapshot();
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("vs_posthog_rs");
    group.throughput(Throughput::Elements(cases.len() as u64));
    group.sample_size(20);
    group.bench_function("flags_runtime", |b| {
        b.iter(|| {
            for (flag, u) in &cases {
                black_box(snapshot.evaluate(black_box(flag), &contexts[*u]));
            }
        })
    });
    group.bench_function("flags_runtime_published", |b| {
        b.iter(|| {
            for (flag, u) in &cases {
                // What FlagsClient does per call: load the published rules, then evaluate.
                let current = evaluator.load();
                black_box(current.evaluate(black_box(flag), &contexts[*u]));
            }
        })
    });
    group.bench_function("posthog_rs", |b| {
        b.iter(|| {
            for (flag, u) in &cases {
                let t = &theirs[*u];
                let _ = black_box(theirs_eval.evaluate_flag(
                    black_box(flag),
                    &ours[*u].distinct_id,
                    &t.person,
                    &t.groups,
                    &t.group_properties,
                ));
            }
        })
    });
    group.finish();
    c.final_summary();
}
