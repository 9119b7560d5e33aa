//! Retries under 429 bursts, 5xx, connection resets and timeouts: nothing lost, nothing doubled.

use std::collections::HashSet;
use std::time::Duration;

use flags_runtime::client::{
    CaptureEvent, Client, Error, FlagPatch, Limits, ListFlags, NewFlag, Rate, RetryPolicy,
};
use flags_runtime::emulator::{Emulator, FaultKind, Faults, Knobs, RateLimits, Window};
use futures_util::TryStreamExt;
use serde_json::{Value, json};

use crate::support::{client_for, fast_retry, seed_flag, setup};

fn faults(kind: FaultKind, every: u64) -> Knobs {
    Knobs {
        faults: Some(Faults {
            kind,
            every: Some(every),
            probability: None,
            seed: 0,
            matching: None,
        }),
        ..Knobs::default()
    }
}

fn tight_limits(max: u32) -> Knobs {
    Knobs {
        rate_limits: Some(RateLimits {
            crud: vec![Window { max, per_secs: 1.0 }],
            ..RateLimits::default()
        }),
        ..Knobs::default()
    }
}

async fn seed_many(emu: &Emulator, n: usize) {
    let flags: Vec<Value> = (0..n).map(|i| seed_flag(&format!("flag_{i:04}"))).collect();
    emu.seed(&json!({ "flags": flags })).unwrap();
}

#[tokio::test]
async fn a_429_burst_is_waited_out_using_the_detail_text() {
    let (emu, client) = setup().await;
    seed_many(&emu, 1).await;
    emu.set_knobs(tight_limits(4));
    let id = emu.dump()["flags"][0]["id"].as_i64().unwrap();
    for _ in 0..10 {
        client.get_flag(id).await.unwrap();
    }
    let log = emu.log();
    assert!(log.status_count(429) >= 1, "the burst was throttled");
    assert_eq!(log.status_count(200), 10, "and every call got through");
}

#[tokio::test]
async fn retry_after_is_honoured_when_the_switch_adds_it() {
    let (emu, client) = setup().await;
    seed_many(&emu, 1).await;
    emu.set_knobs(Knobs {
        retry_after_header: true,
        ..tight_limits(3)
    });
    let id = emu.dump()["flags"][0]["id"].as_i64().unwrap();
    for _ in 0..6 {
        client.get_flag(id).await.unwrap();
    }
    assert_eq!(emu.log().status_count(200), 6);
}

#[tokio::test]
async fn a_429_without_any_wait_backs_off_and_gives_up_after_the_attempt_budget() {
    let (emu, client) = setup().await;
    emu.set_knobs(Knobs {
        rate_limits: Some(RateLimits {
            definitions: vec![Window {
                max: 1,
                per_secs: 60.0,
            }],
            ..RateLimits::default()
        }),
        ..Knobs::default()
    });
    client.flag_definitions(None).await.unwrap();
    let err = client.flag_definitions(None).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::RateLimited {
                retry_after: None,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        emu.log().count("GET /flags/definitions"),
        1 + 6,
        "one success, then 6 attempts"
    );
}

#[tokio::test]
async fn a_wait_longer_than_the_budget_is_returned_at_once() {
    let (emu, client) = setup().await;
    seed_many(&emu, 1).await;
    emu.set_knobs(Knobs {
        rate_limits: Some(RateLimits {
            crud: vec![Window {
                max: 1,
                per_secs: 600.0,
            }],
            ..RateLimits::default()
        }),
        ..Knobs::default()
    });
    let id = emu.dump()["flags"][0]["id"].as_i64().unwrap();
    client.get_flag(id).await.unwrap();
    let err = client.get_flag(id).await.unwrap_err();
    assert!(
        err.retry_after().unwrap() > Duration::from_secs(500),
        "{err:?}"
    );
    assert_eq!(emu.log().status_count(429), 1);
}

#[tokio::test]
async fn the_client_limiter_keeps_it_under_posthogs_limits() {
    let emu = Emulator::start().await.unwrap();
    seed_many(&emu, 1).await;
    let id = emu.dump()["flags"][0]["id"].as_i64().unwrap();
    emu.set_knobs(tight_limits(5));
    let client = Client::new(
        emu.client_config()
            .retry(fast_retry())
            .limits(Limits {
                crud: vec![Rate {
                    max: 5,
                    per: Duration::from_secs(1),
                }],
                concurrency: 4,
                ..Limits::unlimited()
            })
            .build()
            .unwrap(),
    )
    .unwrap();
    let calls = (0..15).map(|i| {
        let client = client.clone();
        async move {
            client
                .update_flag(
                    id,
                    &FlagPatch {
                        name: Some(format!("n{i}")),
                        ..FlagPatch::default()
                    },
                )
                .await
        }
    });
    for r in futures_util::future::join_all(calls).await {
        r.unwrap();
    }
    let log = emu.log();
    assert_eq!(log.status_count(429), 0, "never throttled");
    assert_eq!(log.status_count(200), 15);
    assert_eq!(emu.dump()["flags"][0]["version"], json!(16));
}

#[tokio::test]
async fn pagination_survives_500s_502s_and_resets() {
    for kind in [FaultKind::Status500, FaultKind::Status502, FaultKind::Reset] {
        let (emu, client) = setup().await;
        seed_many(&emu, 500).await;
        emu.set_knobs(faults(kind, 2));
        let listed: Vec<_> = client
            .list_flags(&ListFlags::default())
            .try_collect()
            .await
            .unwrap();
        let keys: HashSet<_> = listed.iter().map(|f| f.key.clone()).collect();
        assert_eq!(
            (listed.len(), keys.len()),
            (500, 500),
            "{kind:?}: nothing lost or doubled"
        );
        assert!(emu.log().requests.iter().any(|r| r.fault == Some(kind)));
    }
}

#[tokio::test]
async fn updates_survive_random_faults() {
    let (emu, client) = setup().await;
    seed_many(&emu, 20).await;
    emu.set_knobs(Knobs {
        faults: Some(Faults {
            kind: FaultKind::Status502,
            every: None,
            probability: Some(0.3),
            seed: 42,
            matching: None,
        }),
        ..Knobs::default()
    });
    let ids: Vec<i64> = emu.dump()["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    for id in &ids {
        let f = client
            .update_flag(
                *id,
                &FlagPatch {
                    active: Some(false),
                    ..FlagPatch::default()
                },
            )
            .await
            .unwrap();
        assert!(!f.active);
    }
    assert!(emu.log().status_count(502) > 0);
    assert!(
        emu.dump()["flags"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["active"] == json!(false))
    );
}

#[tokio::test]
async fn creates_are_never_duplicated_when_answers_are_lost() {
    let (emu, client) = setup().await;
    // Every second request is processed, then its connection dropped before the answer.
    emu.set_knobs(faults(FaultKind::ResetAfterProcessing, 2));
    for i in 0..10 {
        let flag = NewFlag {
            key: format!("created_{i}"),
            name: "x".into(),
            ..NewFlag::default()
        };
        let flag = NewFlag {
            filters: Some(json!({ "groups": [{ "properties": [], "rollout_percentage": 0 }] })),
            ..flag
        };
        let made = client.create_flag(&flag).await.unwrap();
        assert_eq!(made.key, format!("created_{i}"));
    }
    let dump = emu.dump();
    let keys: Vec<&str> = dump["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys.len(), 10, "exactly one flag per create: {keys:?}");
    assert!(emu.log().count("POST /api/projects/{id}/feature_flags/") >= 10);
    assert!(
        emu.log().status_count(400) == 0,
        "never tripped over its own earlier create"
    );
}

#[tokio::test]
async fn captured_batches_are_not_doubled_when_answers_are_lost() {
    let (emu, client) = setup().await;
    emu.set_knobs(faults(FaultKind::ResetAfterProcessing, 2));
    for b in 0..4 {
        let batch: Vec<CaptureEvent> = (0..5)
            .map(|i| CaptureEvent {
                event: "e".into(),
                distinct_id: format!("u{b}_{i}"),
                ..CaptureEvent::default()
            })
            .collect();
        client.capture_batch(&batch).await.unwrap();
    }
    assert_eq!(emu.dump()["events"].as_array().unwrap().len(), 20);
    assert!(emu.log().status_count(0) > 0, "some answers were lost");
}

#[tokio::test]
async fn retries_are_bounded_and_client_errors_are_not_retried() {
    let (emu, client) = setup().await;
    emu.set_knobs(faults(FaultKind::Status502, 1));
    let err = client.get_flag(1).await.unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert_eq!(emu.log().total(), 6, "max_attempts");
    emu.set_knobs(Knobs::default());
    emu.clear_log();
    assert_eq!(
        client.get_flag(12345).await.unwrap_err().status(),
        Some(404)
    );
    assert_eq!(emu.log().total(), 1, "a 404 is final");
}

#[tokio::test]
async fn timeouts_and_refused_connections_are_typed_errors() {
    let emu = Emulator::start().await.unwrap();
    emu.set_knobs(Knobs {
        latency_ms: 400,
        ..Knobs::default()
    });
    let client = Client::new(
        emu.client_config()
            .retry(RetryPolicy {
                max_attempts: 2,
                ..fast_retry()
            })
            .request_timeout(Duration::from_millis(50))
            .build()
            .unwrap(),
    )
    .unwrap();
    let err = client.get_flag(1).await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");

    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let dead = Client::new(
        flags_runtime::client::Config::builder()
            .host(format!("http://{addr}"))
            .project_id(1)
            .personal_api_key("phx_x")
            .retry(RetryPolicy {
                max_attempts: 2,
                ..fast_retry()
            })
            .build()
            .unwrap(),
    )
    .unwrap();
    let err = dead.get_flag(1).await.unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    let _ = client_for(&emu);
}

#[tokio::test]
async fn concurrency_is_bounded() {
    let emu = Emulator::start().await.unwrap();
    seed_many(&emu, 1).await;
    let id = emu.dump()["flags"][0]["id"].as_i64().unwrap();
    emu.set_knobs(Knobs {
        latency_ms: 30,
        ..Knobs::default()
    });
    let client = Client::new(
        emu.client_config()
            .limits(Limits {
                concurrency: 3,
                ..Limits::unlimited()
            })
            .build()
            .unwrap(),
    )
    .unwrap();
    let calls = (0..12).map(|_| client.get_flag(id));
    for r in futures_util::future::join_all(calls).await {
        r.unwrap();
    }
    let log = emu.log();
    assert_eq!(log.status_count(200), 12);
    assert!(
        log.max_in_flight <= 3,
        "at most 3 at once, saw {}",
        log.max_in_flight
    );
    assert_eq!(Limits::default().concurrency, 8);
}

#[tokio::test]
async fn a_create_that_times_out_but_lands_later_is_not_made_twice() {
    let emu = Emulator::start().await.unwrap();
    // Creates take 300 ms; the client waits 150 ms. PostHog (and the emulator) still finish
    // the request after the client has gone.
    let mut knobs = Knobs::default();
    knobs
        .route_latency_ms
        .insert("POST /api/projects/{id}/feature_flags/".into(), 300);
    emu.set_knobs(knobs);
    let client = Client::new(
        emu.client_config()
            .retry(fast_retry())
            .limits(Limits::unlimited())
            .request_timeout(Duration::from_millis(150))
            .build()
            .unwrap(),
    )
    .unwrap();
    let flag = NewFlag {
        key: "slow".into(),
        filters: Some(json!({ "groups": [{ "properties": [], "rollout_percentage": 0 }] })),
        ..NewFlag::default()
    };
    let made = client.create_flag(&flag).await.unwrap();
    assert_eq!(made.key, "slow");
    // Wait (boundedly) until the emulator has processed the retried attempt too.
    for _ in 0..200 {
        if emu.log().count("POST /api/projects/{id}/feature_flags/") >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let dump = emu.dump();
    let flags = dump["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 1, "one flag, however many attempts: {flags:?}");
    assert_eq!(flags[0]["id"].as_i64(), Some(made.id));
    assert!(
        emu.log().count("POST /api/projects/{id}/feature_flags/") >= 2,
        "it did retry, and the retry collided with the first attempt, which had landed"
    );
    assert_eq!(emu.log().status_count(201), 1);
}
