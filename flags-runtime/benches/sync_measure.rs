//! The sync rows of issue 4's table, reproduced against the emulator (prints figures; not a
//! micro-benchmark).
//!
//! ```text
//! cargo bench -p flags-runtime --bench sync_measure
//! ```
//!
//! Every row runs `jobs::sync::sync` (what `flagsync sync` runs) on a generated registry of 500
//! flags (50 multivariate; in the fourth row 50 with capitalised tags and 5 with a trailing
//! space in the description) against an emulator answering each request after 50 ms.
//! Requests are the emulator's own count; wall time covers the whole run (inventory, plan,
//! writes). Rows with latency only use an emulator without rate limits and a client without
//! rate windows (8 requests in flight); the last row enforces PostHog's limits (480/min and 4,800/h, 429
//! without `Retry-After`) with 1% of requests failing with 502, and the client keeps its
//! default limiter. Median of 3 runs (`FLAGS_BENCH_RUNS` to change) except the last row, run
//! once.
//!
//! Under `cargo test` (no `--bench` argument) it does nothing, so the default test run stays fast.
#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use flags_runtime::client::{Client, Limits};
use flags_runtime::emulator::{Emulator, FaultKind, Faults, Knobs, RateLimits};
use flags_runtime::jobs::sync::{SyncOptions, SyncReport, sync};
use flags_runtime::registry::Registry;
use flags_runtime::registry_file::registry_from_yaml;
use serde_json::{Value, json};

const FLAGS: usize = 500;
const AREAS: [&str; 4] = ["studio", "ai", "billing", "auth"];

/// 500 flags, every 10th multivariate. `messy`: 50 of them with capitalised tags and 5 with a
/// description ending in a space (quoted, so the yaml keeps it).
fn generate(messy: bool) -> &'static Registry {
    let mut y = String::from("version: 1\nnaming:\n  areas: [studio, ai, billing, auth]\nflags:\n");
    for i in 0..FLAGS {
        let area = AREAS[i % AREAS.len()];
        let multivariate = i % 10 == 9;
        let lifecycle = if multivariate {
            "experiment"
        } else {
            "release"
        };
        let _ = writeln!(y, "  {lifecycle}_{area}_feature_{i:04}:");
        if messy && i < 5 {
            let _ = writeln!(
                y,
                "    description: \"Gates feature {i} of the {area} area. \""
            );
        } else {
            let _ = writeln!(y, "    description: Gates feature {i} of the {area} area.");
        }
        let _ = writeln!(y, "    owner: \"@team-{}\"", i % 7);
        let _ = writeln!(y, "    backup_owner: \"@oncall\"");
        if messy && (100..150).contains(&i) {
            let _ = writeln!(y, "    tags: [Growth, {}]", area.to_uppercase());
        } else {
            let _ = writeln!(y, "    tags: [{area}]");
        }
        if multivariate {
            let _ = writeln!(
                y,
                "    variants: {{ control: 50, test: 50 }}\n    default: control"
            );
        } else {
            let _ = writeln!(y, "    default: false");
        }
        if i % 3 == 0 {
            let _ = writeln!(
                y,
                "    created: 2026-11-01\n    expires: 2027-03-{:02}",
                i % 28 + 1
            );
        }
        if i % 25 == 0 {
            let _ = writeln!(y, "    guardian:\n      enforce: true");
        }
    }
    registry_from_yaml("bench.yaml", &y).unwrap()
}

fn client(emu: &Emulator, limits: Limits) -> Client {
    Client::new(emu.client_config().limits(limits).build().unwrap()).unwrap()
}

fn latency_only() -> Limits {
    Limits {
        crud: Vec::new(),
        ..Limits::default()
    }
}

async fn emulator(latency_ms: u64) -> Emulator {
    let emu = Emulator::start().await.unwrap();
    emu.set_knobs(Knobs {
        latency_ms,
        ..Knobs::default()
    });
    emu
}

/// One measured run: requests by kind, wall time, outcome.
struct Measure {
    requests: u64,
    detail: String,
    wall: Duration,
    outcome: String,
}

async fn measure(emu: &Emulator, client: &Client, registry: &Registry) -> Measure {
    emu.clear_log();
    let start = Instant::now();
    let result = sync(client, registry, SyncOptions::default(), &mut |_| {}).await;
    let wall = start.elapsed();
    let log = emu.log();
    let by_method = |m: &str| -> u64 {
        log.counts
            .iter()
            .filter(|(k, _)| k.starts_with(m))
            .map(|(_, n)| n)
            .sum()
    };
    let detail = format!(
        "{} GET, {} POST, {} PATCH; {} × 429, {} × 502",
        by_method("GET "),
        by_method("POST "),
        by_method("PATCH "),
        log.status_count(429),
        log.status_count(502),
    );
    Measure {
        requests: log.total(),
        detail,
        wall,
        outcome: match result {
            Ok(r) => outcome(&r),
            Err(e) => format!("FAILED: {e}"),
        },
    }
}

fn outcome(r: &SyncReport) -> String {
    let a = r.applied.as_ref().unwrap();
    let writes = a.created.len() + a.described.len() + a.tag_requests;
    let ok = if a.failures.is_empty() {
        "ok"
    } else {
        "WRITE FAILURES"
    };
    format!(
        "{ok}: created {}, described {}, tagged {}, {writes} writes, {} failed; findings: {}",
        a.created.len(),
        a.described.len(),
        a.tagged.len(),
        a.failures.len(),
        if r.findings.is_empty() {
            "none".to_owned()
        } else {
            let mut kinds: Vec<String> = r.findings.iter().map(|f| f.kind.to_string()).collect();
            kinds.sort();
            kinds.dedup_by(|a, b| a == b);
            format!("{} ({})", r.findings.len(), kinds.join(", "))
        }
    )
}

fn report(row: &str, toolkit: &str, runs: Vec<Measure>) {
    let mut walls: Vec<Duration> = runs.iter().map(|m| m.wall).collect();
    walls.sort();
    let median = walls[walls.len() / 2];
    let first = &runs[0];
    let same = runs.iter().all(|m| m.requests == first.requests);
    println!(
        "| {row} | {toolkit} | {}{} | {:.2} s | {} |",
        first.requests,
        if same {
            String::new()
        } else {
            " (varies)".into()
        },
        median.as_secs_f64(),
        first.outcome
    );
    println!("|   ↳ | | {} | runs: {} | |", first.detail, {
        let w: Vec<String> = walls
            .iter()
            .map(|w| format!("{:.2}", w.as_secs_f64()))
            .collect();
        w.join(", ")
    });
}

/// A project already synced with `registry` (through the emulator's own API, so names and
/// tags are stored as PostHog stores them).
async fn synced(registry: &Registry, extra: Option<Value>) -> Emulator {
    let emu = emulator(0).await;
    if let Some(seed) = extra {
        emu.seed(&seed).unwrap();
    }
    let r = sync(
        &client(&emu, latency_only()),
        registry,
        SyncOptions::default(),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert!(r.applied.unwrap().failures.is_empty());
    emu.set_knobs(Knobs {
        latency_ms: 50,
        ..Knobs::default()
    });
    emu
}

fn orphans(n: usize) -> Value {
    let flags: Vec<Value> = (0..n)
        .map(|i| json!({ "key": format!("release_studio_orphan_{i:04}"), "name": "not in the yaml",
                         "filters": { "groups": [{ "properties": [], "rollout_percentage": 100 }] } }))
        .collect();
    json!({ "flags": flags })
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("sync_measure: run with `cargo bench -p flags-runtime --bench sync_measure`");
        return;
    }
    let runs: usize = std::env::var("FLAGS_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let registry = generate(false);
    let messy = generate(true);
    let held_key = registry.flags[250].key;
    println!(
        "| scenario | toolkit (requests, wall, outcome) | our requests | our wall time (median) | our outcome |"
    );
    println!("|---|---|---|---|---|");
    rt.block_on(async {
        let mut m = Vec::new();
        for _ in 0..runs {
            let emu = emulator(50).await;
            m.push(measure(&emu, &client(&emu, latency_only()), registry).await);
        }
        report("initial sync, 500 flags, empty project", "501, 26.1 s, ok", m);

        let mut m = Vec::new();
        for _ in 0..runs {
            let emu = emulator(50).await;
            emu.seed(&json!({ "flags": [{ "key": held_key, "name": "archived long ago",
                                          "archived": true, "active": false }] }))
                .unwrap();
            m.push(measure(&emu, &client(&emu, latency_only()), registry).await);
        }
        report(
            "same, one key held by an archived flag",
            "252, 13.0 s, crashes at that flag; 249 never created, on every re-run",
            m,
        );

        let mut m = Vec::new();
        for _ in 0..runs {
            let emu = synced(registry, None).await;
            m.push(measure(&emu, &client(&emu, latency_only()), registry).await);
        }
        report("no-op sync (500 flags in line)", "3, 0.17 s, ok", m);

        // The registry has the 50 capitalised tags and the 5 trailing spaces; PostHog (the
        // emulator) stored them lower-cased and trimmed when they were created.
        let mut m = Vec::new();
        for _ in 0..runs {
            let emu = synced(messy, None).await;
            m.push(measure(&emu, &client(&emu, latency_only()), messy).await);
        }
        report(
            "no-op sync, 50 flags with capitalised tags, 5 descriptions with a trailing space",
            "58, 3.0 s, re-patches 55 flags on every run",
            m,
        );

        let mut m = Vec::new();
        for _ in 0..runs {
            let emu = synced(registry, Some(orphans(2_000))).await;
            m.push(measure(&emu, &client(&emu, latency_only()), registry).await);
        }
        report("500 synced + 2,000 orphans", "13, 0.72 s, ok", m);

        let emu = emulator(50).await;
        emu.set_knobs(Knobs {
            latency_ms: 50,
            rate_limits: Some(RateLimits::default()),
            retry_after_header: false,
            faults: Some(Faults {
                kind: FaultKind::Status502,
                every: None,
                probability: Some(0.01),
                seed: 4,
                matching: None,
            }),
            ..Knobs::default()
        });
        let m = measure(&emu, &client(&emu, Limits::default()), registry).await;
        report(
            "initial sync under PostHog's real limits (480/min, 429 without Retry-After) + 1% 502s",
            "534, 69.6 s over 9 runs, 8 of 9 runs failed",
            vec![m],
        );
        let created = emu.dump()["flags"].as_array().map_or(0, Vec::len);
        println!("(last row: {created} flags in PostHog afterwards; 480/min allows 500 creates plus 2 list pages in no less than ~60 s)");
    });
}
