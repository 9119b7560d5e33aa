//! `track` measured against the emulator, in the scenarios of issue 4 (not a micro-benchmark;
//! prints a table).
//!
//! ```text
//! cargo bench -p flags-runtime --bench track_measure
//! ```
//!
//! The project: 2,000 registry flags in PostHog; 300 of them at 100% (250 new, 50 marked released
//! by an earlier run 31–80 days ago, past the 30-day lifetime), 20 multivariate flags whose
//! experiments ended 1–20 days ago, the rest partly rolled out. 50 ms of latency per request.
//! The client runs with its defaults (PostHog's limits in its limiter, 5 attempts per request).
//!
//! Rows: a first run; a second run; the same first run under PostHog's real limits (480/minute,
//! 4,800/hour, 429s without `Retry-After`) plus 1% of requests answered 502; one where 5% of
//! answers are lost after the request was processed; and the limits row again with Slack down
//! during the first run. A run that fails is run again (as the next
//! scheduled CI run would) until one succeeds. "Lost" counts notices that never reached the
//! Slack sink although their flag ended up marked; it must be 0.
//!
//! Under `cargo test` (no `--bench` argument) it does nothing, so the default test run stays fast.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use flags_runtime::client::Client;
use flags_runtime::emulator::{Emulator, FaultKind, Faults, Knobs, RateLimits};
use flags_runtime::jobs::slack::SlackWebhook;
use flags_runtime::jobs::track;
use flags_runtime::registry::{Date, Registry};
use flags_runtime::registry_file::registry_from_yaml;
use serde_json::{Value, json};

const FLAGS: usize = 2_000;
const NEW_RELEASES: usize = 250;
const OLD_RELEASES: usize = 50;
const EXPERIMENTS: usize = 20;
const SLACK_ROUTE: &str = "POST /hooks/slack/T000/B000/emulator/";

fn today() -> Date {
    Date::parse("2026-11-21").unwrap()
}

fn key(i: usize) -> String {
    if i >= FLAGS - EXPERIMENTS {
        format!("experiment_ai_e{i:04}")
    } else {
        format!("release_studio_f{i:04}")
    }
}

fn registry() -> &'static Registry {
    let mut yaml = String::from(
        "version: 1\nnaming:\n  areas: [studio, ai]\nlifetimes: { release: 30, experiment: 30 }\nflags:\n",
    );
    for i in 0..FLAGS {
        yaml.push_str(&format!(
            "  {}:\n    description: Flag {i}.\n    owner: \"@owner{}\"\n    backup_owner: \"@backup{}\"\n    default: false\n",
            key(i),
            i % 10,
            i % 7
        ));
    }
    registry_from_yaml("bench.yaml", &yaml).unwrap()
}

fn seed(emu: &Emulator) {
    let full = json!({ "groups": [{ "properties": [], "rollout_percentage": 100 }] });
    let split = json!({ "groups": [{ "properties": [], "rollout_percentage": 100 }],
        "multivariate": { "variants": [{ "key": "control", "rollout_percentage": 50 }, { "key": "test", "rollout_percentage": 50 }] } });
    let mut flags = Vec::new();
    let mut experiments = Vec::new();
    for i in 0..FLAGS {
        let mut f = json!({ "key": key(i), "name": format!("Flag {i}."), "active": true });
        if i < NEW_RELEASES {
            f["filters"] = full.clone();
        } else if i < NEW_RELEASES + OLD_RELEASES {
            let days = 31 + (i - NEW_RELEASES) as i64;
            f["filters"] = full.clone();
            f["tags"] = json!([
                "released-detected-v1",
                format!("released-at:{}", today().add_days(-days))
            ]);
        } else if i >= FLAGS - EXPERIMENTS {
            f["filters"] = split.clone();
            let ended = today().add_days(-((i + EXPERIMENTS + 1 - FLAGS) as i64));
            experiments.push(
                json!({ "name": format!("experiment {i}"), "feature_flag_key": key(i),
                "start_date": "2026-09-01T09:00:00Z", "end_date": format!("{ended}T17:00:00Z") }),
            );
        } else {
            f["filters"] =
                json!({ "groups": [{ "properties": [], "rollout_percentage": (i % 10) * 10 }] });
        }
        flags.push(f);
    }
    emu.seed(&json!({ "flags": flags, "experiments": experiments }))
        .unwrap();
}

/// The notices a first run must deliver, as "kind key".
fn expected_notices() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for i in 0..NEW_RELEASES {
        out.insert(format!("released {}", key(i)));
    }
    for i in NEW_RELEASES..NEW_RELEASES + OLD_RELEASES {
        out.insert(format!("stale {}", key(i)));
    }
    for i in FLAGS - EXPERIMENTS..FLAGS {
        out.insert(format!("released {}", key(i)));
    }
    out
}

/// Notices found in the Slack sink, with how many times each arrived.
fn delivered(emu: &Emulator) -> Vec<String> {
    let mut out = Vec::new();
    for message in emu.slack_messages() {
        for block in message["blocks"].as_array().into_iter().flatten() {
            let text = block["text"]["text"].as_str().unwrap_or_default();
            for line in text.lines().filter(|l| l.starts_with("• *")) {
                let mut parts = line.trim_start_matches("• *").splitn(2, "* `");
                let kind = parts.next().unwrap_or_default();
                let key = parts
                    .next()
                    .and_then(|r| r.split('`').next())
                    .unwrap_or_default();
                out.push(format!("{kind} {key}"));
            }
        }
    }
    out
}

/// Marks PostHog holds now, as "kind key" (stale-notified counts for stale).
fn marked(emu: &Emulator) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for f in emu.dump()["flags"].as_array().unwrap() {
        let key = f["key"].as_str().unwrap();
        let tags: Vec<&str> = f["tags"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let i: usize = key[key.len() - 4..].parse().unwrap();
        if tags.iter().any(|t| t.starts_with("stale-notified:")) {
            out.insert(format!("stale {key}"));
        }
        let newly = !(NEW_RELEASES..FLAGS - EXPERIMENTS).contains(&i);
        if newly && tags.contains(&"released-detected-v1") {
            out.insert(format!("released {key}"));
        }
    }
    out
}

struct Row {
    scenario: &'static str,
    posthog_requests: u64,
    slack_posts: u64,
    wall: Duration,
    outcome: String,
    toolkit: &'static str,
}

/// Runs track until a run succeeds (at most `max_runs`), as successive CI runs would.
/// `slack_down_first` makes the Slack sink answer 500 during the first run.
async fn runs_until_success(
    emu: &Emulator,
    client: &Client,
    registry: &Registry,
    max_runs: usize,
    slack_down_first: bool,
) -> (usize, usize, Duration) {
    let hook = SlackWebhook::new(emu.slack_webhook_url()).unwrap();
    let start = Instant::now();
    let mut failed = 0;
    let knobs = emu.knobs();
    for run in 1..=max_runs {
        emu.set_knobs(Knobs {
            slack_status: (slack_down_first && run == 1).then_some(500),
            ..knobs.clone()
        });
        match track::run(client, registry, today(), Some(&hook)).await {
            Ok(r) if !r.failed() => return (run, failed, start.elapsed()),
            _ => failed += 1,
        }
    }
    (max_runs, failed, start.elapsed())
}

fn counts(emu: &Emulator) -> (u64, u64) {
    let log = emu.log();
    let slack = log.count(SLACK_ROUTE);
    (log.total() - slack, slack)
}

async fn scenario(
    scenario: &'static str,
    knobs: Knobs,
    slack_down_first: bool,
    toolkit: &'static str,
    registry: &Registry,
    rows: &mut Vec<Row>,
) {
    let emu = Emulator::start().await.unwrap();
    seed(&emu);
    emu.set_knobs(knobs);
    let client = Client::new(emu.client_config().build().unwrap()).unwrap();
    let (runs, failed, wall) =
        runs_until_success(&emu, &client, registry, 10, slack_down_first).await;
    let (posthog_requests, slack_posts) = counts(&emu);
    let expected = expected_notices();
    let got = delivered(&emu);
    let got_set: BTreeSet<String> = got.iter().cloned().collect();
    let marked = marked(&emu);
    let lost = marked.difference(&got_set).count();
    let missing = expected.difference(&got_set).count();
    let duplicates = got.len() - got_set.len();
    let log = emu.log();
    let throttled = log.status_count(429);
    let server_errors = log.status_count(500) + log.status_count(502);
    let dropped = log.status_count(0);
    rows.push(Row {
        scenario,
        posthog_requests,
        slack_posts,
        wall,
        outcome: format!(
            "{runs} run(s), {failed} failed; {} of {} notices delivered, {lost} lost, {duplicates} repeated; {} marked; answers: {throttled}×429, {server_errors}×5xx, {dropped} dropped",
            got_set.intersection(&expected).count(),
            expected.len(),
            marked.len(),
        ) + if missing > 0 { " — MISSING NOTICES" } else { "" },
        toolkit,
    });

    if scenario.starts_with("track: 2,000") {
        // The second run, on the same state.
        emu.clear_log();
        let before = emu.slack_messages().len();
        let hook = SlackWebhook::new(emu.slack_webhook_url()).unwrap();
        let start = Instant::now();
        let run = track::run(&client, registry, today(), Some(&hook))
            .await
            .unwrap();
        let wall = start.elapsed();
        let (posthog_requests, slack_posts) = counts(&emu);
        let writes = emu
            .log()
            .requests
            .iter()
            .filter(|r| r.method != "GET" && !r.route.starts_with("/hooks/"))
            .count();
        rows.push(Row {
            scenario: "track, second run",
            posthog_requests,
            slack_posts,
            wall,
            outcome: format!(
                "{} findings, {writes} writes, {} Slack posts; only list pages read",
                run.scan.digest.findings.len(),
                emu.slack_messages().len() - before
            ),
            toolkit: "231 req (220 activity reads), 12.0 s; nothing new, cost grows with released flags",
        });
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("track_measure: run with `cargo bench -p flags-runtime --bench track_measure`");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let registry = registry();
    let latency = Knobs {
        latency_ms: 50,
        ..Knobs::default()
    };
    let limits = Knobs {
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
    };
    let lost_answers = Knobs {
        latency_ms: 50,
        rate_limits: Some(RateLimits::default()),
        faults: Some(Faults {
            kind: FaultKind::ResetAfterProcessing,
            every: None,
            probability: Some(0.05),
            seed: 4,
            matching: None,
        }),
        ..Knobs::default()
    };
    let mut rows = Vec::new();
    rt.block_on(async {
        scenario(
            "track: 2,000 flags, 300 at 100%, 50 released 31–80 days ago, 20 ended experiments",
            latency,
            false,
            "381 req, 19.5 s; ok",
            registry,
            &mut rows,
        )
        .await;
        scenario(
            "track under PostHog's limits (480/min, 429 without Retry-After) + 1% 502s",
            limits.clone(),
            false,
            "541 req, 4 runs, none completed; 3 release and 1 stale notices lost",
            registry,
            &mut rows,
        )
        .await;
        scenario(
            "track under the limits, 5% of answers lost after processing",
            lost_answers,
            false,
            "–",
            registry,
            &mut rows,
        )
        .await;
        scenario(
            "track under the limits + 1% 502s, Slack answering 500 during the first run",
            limits,
            true,
            "–",
            registry,
            &mut rows,
        )
        .await;
    });
    println!("| scenario | PostHog requests | Slack posts | wall time | outcome | toolkit |");
    println!("|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {:.2} s | {} | {} |",
            r.scenario,
            r.posthog_requests,
            r.slack_posts,
            r.wall.as_secs_f64(),
            r.outcome,
            r.toolkit
        );
    }
}
