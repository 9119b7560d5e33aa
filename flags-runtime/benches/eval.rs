//! Evaluation speed on the workload:
//! `gen_cases.py --seed 1 --flags 20 --users 10000 --cases 100000`, single thread.
//!
//! The workload is not committed (~11 MB). Create it with
//! `scripts/oracle/regenerate.sh --bench` (writes `target/eval-bench/seed1-10k.json`), or
//! point `EVAL_BENCH_INPUT` at any oracle-format file. Without it the bench says so and
//! falls back to the committed seed-1 vectors (3,000 cases).
//!
//! `cargo bench -p flags-runtime --bench eval`; each iteration evaluates every case once,
//! so criterion's time per element is the time per evaluation.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flags_runtime::eval::{EvalContext, FlagId, Group, Properties, Snapshot};
use serde_json::Value;

struct User {
    distinct_id: String,
    person: Properties,
    groups: Vec<(String, String, Properties)>,
}

fn key_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn input_path() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if let Ok(p) = std::env::var("EVAL_BENCH_INPUT")
        && !p.is_empty()
    {
        return PathBuf::from(p);
    }
    let big = manifest.join("../target/eval-bench/seed1-10k.json");
    if big.exists() {
        return big;
    }
    eprintln!(
        "eval bench: {} is absent; run `scripts/oracle/regenerate.sh --bench` for the issue's \
         100,000-case workload. Falling back to tests/vectors/gen-seed1.json (3,000 cases).",
        big.display()
    );
    manifest.join("tests/vectors/gen-seed1.json")
}

fn bench(c: &mut Criterion) {
    let path = input_path();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("eval bench skipped: cannot read {}: {e}", path.display());
            return;
        }
    };
    let Ok(doc) = serde_json::from_str::<Value>(&text) else {
        eprintln!("eval bench skipped: {} is not JSON", path.display());
        return;
    };
    let Ok(snapshot) = Snapshot::from_value(&doc["definitions"]) else {
        eprintln!("eval bench skipped: definitions do not compile");
        return;
    };
    let empty = serde_json::Map::new();
    let users_json = doc["users"].as_object().unwrap_or(&empty);
    // Property maps are built once per user, as a caller builds them once per request.
    let users: Vec<(String, User)> = users_json
        .iter()
        .map(|(did, u)| {
            let gp = &u["group_properties"];
            let groups = u["groups"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(t, k)| {
                            (
                                t.clone(),
                                key_str(k),
                                Properties::from_json(&gp[t.as_str()]),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            (
                did.clone(),
                User {
                    distinct_id: did.clone(),
                    person: Properties::from_json(&u["person_properties"]),
                    groups,
                },
            )
        })
        .collect();
    let index: std::collections::HashMap<&str, usize> = users
        .iter()
        .enumerate()
        .map(|(i, (d, _))| (d.as_str(), i))
        .collect();
    let groups: Vec<Vec<Group<'_>>> = users
        .iter()
        .map(|(_, u)| {
            u.groups
                .iter()
                .map(|(t, k, p)| Group::new(t, k, p))
                .collect()
        })
        .collect();
    let contexts: Vec<EvalContext<'_>> = users
        .iter()
        .zip(&groups)
        .map(|((_, u), g)| EvalContext::new(&u.distinct_id, &u.person).with_groups(g))
        .collect();
    // Flag keys as an application holds them (a few static strings), not scattered through
    // the parsed JSON document.
    let keys: std::collections::HashMap<&str, &str> = snapshot.keys().map(|k| (k, k)).collect();
    let cases: Vec<(&str, FlagId, usize)> = doc["cases"]
        .as_array()
        .map(|cases| {
            cases
                .iter()
                .filter_map(|c| {
                    let flag = *keys.get(c["flag"].as_str()?)?;
                    let user = *index.get(key_str(&c["distinct_id"]).as_str())?;
                    Some((flag, snapshot.flag_id(flag)?, user))
                })
                .collect()
        })
        .unwrap_or_default();
    if cases.is_empty() {
        eprintln!("eval bench skipped: no cases");
        return;
    }
    eprintln!(
        "eval bench: {} cases, {} users, {} flags from {}",
        cases.len(),
        users.len(),
        snapshot.len(),
        path.display()
    );

    let mut group = c.benchmark_group("eval");
    group.throughput(Throughput::Elements(cases.len() as u64));
    group.bench_function("evaluate_by_key", |b| {
        b.iter(|| {
            for (flag, _, user) in &cases {
                black_box(snapshot.evaluate(black_box(flag), &contexts[*user]));
            }
        })
    });
    group.bench_function("evaluate_by_id", |b| {
        b.iter(|| {
            for (_, id, user) in &cases {
                black_box(snapshot.evaluate_id(*id, &contexts[*user]));
            }
        })
    });
    group.finish();

    // The same snapshot, but every flag for one user before the next (as a request that
    // evaluates all flags for its user): the user's data stays in cache, so this is the
    // evaluator's own cost without the random-access memory misses above.
    let ids: Vec<FlagId> = snapshot
        .keys()
        .filter_map(|k| snapshot.flag_id(k))
        .collect();
    let mut per_user = c.benchmark_group("eval_all_flags_per_user");
    per_user.throughput(Throughput::Elements((ids.len() * contexts.len()) as u64));
    per_user.bench_function("evaluate_by_id", |b| {
        b.iter(|| {
            for ctx in &contexts {
                for id in &ids {
                    black_box(snapshot.evaluate_id(*id, ctx));
                }
            }
        })
    });
    per_user.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
