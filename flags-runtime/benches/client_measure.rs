//! Measurements of the client against the emulator (not a micro-benchmark; prints figures).
//!
//! ```text
//! cargo bench -p flags-runtime --bench client_measure
//! ```
//!
//! 1. Listing 5,000 flags with 50 ms of emulator latency: requests made and wall time, for
//!    PostHog's default page size (100) and a larger one.
//! 2. 1,000 partial updates at 50 ms latency with the emulator enforcing PostHog's limits
//!    (480/minute, 4,800/hour): 429s received and wall time, against the 480/minute bound.
//!    With `FLAGS_BENCH_NO_LIMITER=1` the same run is repeated without the client's limiter.
//!
//! Under `cargo test` (no `--bench` argument) it does nothing, so the default test run stays fast.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use flags_runtime::client::{Client, FlagPatch, Limits, ListFlags};
use flags_runtime::emulator::{Emulator, Knobs, RateLimits};
use futures_util::{StreamExt, TryStreamExt, stream};
use serde_json::{Value, json};

async fn list_5000(page_size: u32) {
    let emu = Emulator::start().await.unwrap();
    let flags: Vec<Value> = (0..5000)
        .map(|i| json!({ "key": format!("flag_{i:04}"), "filters": { "groups": [{ "properties": [], "rollout_percentage": 0 }] } }))
        .collect();
    emu.seed(&json!({ "flags": flags })).unwrap();
    emu.set_knobs(Knobs {
        latency_ms: 50,
        ..Knobs::default()
    });
    let client = Client::new(emu.client_config().page_size(page_size).build().unwrap()).unwrap();
    let start = Instant::now();
    let listed: Vec<_> = client
        .list_flags(&ListFlags::default())
        .try_collect()
        .await
        .unwrap();
    let wall = start.elapsed();
    let log = emu.log();
    println!(
        "list 5,000 flags, 50 ms latency, page size {page_size}: {} flags, {} requests, wall {:.2} s",
        listed.len(),
        log.total(),
        wall.as_secs_f64()
    );
}

async fn updates_1000(limits: Limits, label: &str) {
    let emu = Emulator::start().await.unwrap();
    let flags: Vec<Value> = (0..100)
        .map(|i| json!({ "key": format!("flag_{i:03}") }))
        .collect();
    emu.seed(&json!({ "flags": flags })).unwrap();
    let ids: Vec<i64> = emu.dump()["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    emu.set_knobs(Knobs {
        latency_ms: 50,
        rate_limits: Some(RateLimits::default()),
        ..Knobs::default()
    });
    let concurrency = limits.concurrency;
    let client = Client::new(emu.client_config().limits(limits).build().unwrap()).unwrap();
    let start = Instant::now();
    let results: Vec<_> = stream::iter(0..1000)
        .map(|i| {
            let client = client.clone();
            let id = ids[i % ids.len()];
            async move {
                client
                    .update_flag(
                        id,
                        &FlagPatch {
                            name: Some(format!("update {i}")),
                            ..FlagPatch::default()
                        },
                    )
                    .await
            }
        })
        .buffer_unordered(concurrency * 2)
        .collect()
        .await;
    let wall = start.elapsed();
    let failed = results.iter().filter(|r| r.is_err()).count();
    let log = emu.log();
    // 480 per sliding minute: the 1,000th request cannot start before 2 full windows have passed.
    let bound = Duration::from_secs(120);
    println!(
        "1,000 PATCHes, 50 ms latency, PostHog limits enforced, {label}: {} succeeded, {failed} failed, {} requests, {} answered 429, wall {:.1} s (480/min allows it in no less than {} s)",
        results.len() - failed,
        log.total(),
        log.status_count(429),
        wall.as_secs_f64(),
        bound.as_secs()
    );
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("client_measure: run with `cargo bench -p flags-runtime --bench client_measure`");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        list_5000(100).await;
        list_5000(1000).await;
        updates_1000(
            Limits::default(),
            "client limiter on (default 480/min, 4,800/h, 8 concurrent)",
        )
        .await;
        if std::env::var_os("FLAGS_BENCH_NO_LIMITER").is_some() {
            updates_1000(Limits::unlimited(), "client limiter off").await;
        }
    });
}
