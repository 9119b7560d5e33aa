//! Every client call against the emulator.

use std::collections::HashSet;

use flags_runtime::client::{
    ActiveFilter, CaptureEvent, DefinitionsResponse, Error, FlagPatch, FlagType, FlagsRequest,
    GUARD_QUERY, GuardOutcome, GuardQuery, GuardRow, ListExperiments, ListFlags, NewFlag,
    OutcomeSums, TagAction,
};
use flags_runtime::emulator::{Knobs, UNSUPPORTED_CODE};
use futures_util::TryStreamExt;
use serde_json::{Map, Value, json};

use crate::support::{client_for, seed_flag, setup};

fn new_flag(key: &str) -> NewFlag {
    NewFlag {
        key: key.into(),
        name: "desc".into(),
        filters: Some(json!({ "groups": [{ "properties": [], "rollout_percentage": 0 }] })),
        active: Some(false),
        tags: vec!["Guardian".into(), " studio ".into(), "guardian".into()],
    }
}

#[tokio::test]
async fn create_get_update_find_and_list() {
    let (emu, client) = setup().await;
    let created = client
        .create_flag(&new_flag("release_studio_editor"))
        .await
        .unwrap();
    assert_eq!(created.version, Some(1));
    assert!(!created.active);
    let mut tags = created.tags.clone();
    tags.sort();
    assert_eq!(tags, vec!["guardian", "studio"]);

    let got = client.get_flag(created.id).await.unwrap();
    assert_eq!(got, created);

    let patch = FlagPatch {
        active: Some(true),
        ..FlagPatch::default()
    };
    let updated = client.update_flag(created.id, &patch).await.unwrap();
    assert!(updated.active);
    assert_eq!(updated.version, Some(2));
    assert_eq!(
        updated.name, "desc",
        "a partial update leaves other fields alone"
    );

    let found = client
        .find_flag("RELEASE_STUDIO_EDITOR")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, created.id);
    assert!(client.find_flag("nope").await.unwrap().is_none());

    let all: Vec<_> = client
        .list_flags(&ListFlags::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(emu.log().count("POST /api/projects/{id}/feature_flags/"), 1);
}

#[tokio::test]
async fn lists_five_thousand_flags_over_every_page() {
    let (emu, client) = setup().await;
    let flags: Vec<Value> = (0..5000)
        .map(|i| seed_flag(&format!("flag_{i:04}")))
        .collect();
    emu.seed(&json!({ "flags": flags })).unwrap();
    let listed: Vec<_> = client
        .list_flags(&ListFlags::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 5000);
    let keys: HashSet<_> = listed.iter().map(|f| f.key.clone()).collect();
    assert_eq!(keys.len(), 5000, "no flag twice");
    assert_eq!(listed[0].key, "flag_4999", "newest first");
    assert_eq!(
        emu.log().count("GET /api/projects/{id}/feature_flags/"),
        50,
        "5,000 / 100 per page"
    );
}

#[tokio::test]
async fn list_filters_map_to_posthog_parameters() {
    let (emu, client) = setup().await;
    emu.seed(&json!({ "flags": [
        { "key": "a_guardian", "tags": ["guardian"], "active": true, "filters": {"groups": [{"properties": [], "rollout_percentage": 100}]} },
        { "key": "b_guardians", "tags": ["guardians"], "active": false },
        { "key": "c_archived", "tags": ["guardian"], "archived": true, "active": false },
        { "key": "d_multi", "filters": {"groups": [], "multivariate": {"variants": [{"key": "control", "rollout_percentage": 50}, {"key": "test", "rollout_percentage": 50}]}} },
    ]}))
    .unwrap();
    let keys = |flags: Vec<flags_runtime::client::FeatureFlag>| {
        let mut k: Vec<String> = flags.into_iter().map(|f| f.key).collect();
        k.sort();
        k
    };
    let list = |f: ListFlags| {
        let client = client.clone();
        async move { keys(client.list_flags(&f).try_collect().await.unwrap()) }
    };
    assert_eq!(
        list(ListFlags {
            tags: vec!["guardian".into()],
            ..ListFlags::default()
        })
        .await,
        vec!["a_guardian"]
    );
    assert_eq!(
        list(ListFlags {
            tags: vec!["guardian".into()],
            include_archived: true,
            ..ListFlags::default()
        })
        .await,
        vec!["a_guardian", "c_archived"]
    );
    assert_eq!(
        list(ListFlags {
            archived: Some(true),
            ..ListFlags::default()
        })
        .await,
        vec!["c_archived"]
    );
    assert_eq!(list(ListFlags::everything()).await.len(), 4);
    assert_eq!(
        list(ListFlags {
            search: Some("GUARDIANS".into()),
            ..ListFlags::default()
        })
        .await,
        vec!["b_guardians"]
    );
    assert_eq!(
        list(ListFlags {
            active: Some(ActiveFilter::Inactive),
            ..ListFlags::default()
        })
        .await,
        vec!["b_guardians"]
    );
    assert_eq!(
        list(ListFlags {
            key: Some("D_MULTI".into()),
            ..ListFlags::default()
        })
        .await,
        vec!["d_multi"]
    );
    assert_eq!(
        list(ListFlags {
            flag_type: Some(FlagType::Multivariant),
            ..ListFlags::default()
        })
        .await,
        vec!["d_multi"]
    );
}

#[tokio::test]
async fn a_repeated_cursor_ends_the_stream_with_an_error() {
    let (emu, client) = setup().await;
    let flags: Vec<Value> = (0..150).map(|i| seed_flag(&format!("f{i}"))).collect();
    emu.seed(&json!({ "flags": flags })).unwrap();
    emu.set_knobs(Knobs {
        repeat_cursor: true,
        ..Knobs::default()
    });
    let err = client
        .list_flags(&ListFlags::default())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Protocol { .. }), "{err:?}");
    assert!(emu.log().total() <= 3);
}

#[tokio::test]
async fn validation_errors_carry_posthogs_own_detail() {
    let (_emu, client) = setup().await;
    let err = client.create_flag(&new_flag("bad key!")).await.unwrap_err();
    match &err {
        Error::Api {
            status: 400,
            code,
            detail,
            attr,
            kind,
            ..
        } => {
            assert_eq!(code.as_deref(), Some("invalid_key"));
            assert_eq!(
                detail,
                "Only letters, numbers, hyphens (-) & underscores (_) are allowed."
            );
            assert_eq!(attr.as_deref(), Some("key"));
            assert_eq!(kind.as_deref(), Some("validation_error"));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("Only letters, numbers"), "{err}");
    // An archived flag's key still collides.
    let f = client.create_flag(&new_flag("taken")).await.unwrap();
    client
        .update_flag(
            f.id,
            &FlagPatch {
                archived: Some(true),
                active: Some(false),
                ..FlagPatch::default()
            },
        )
        .await
        .unwrap();
    let err = client.create_flag(&new_flag("taken")).await.unwrap_err();
    assert_eq!(err.code(), Some("unique"));
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn bulk_update_tags_adds_and_is_recorded_in_activity() {
    let (_emu, client) = setup().await;
    let a = client.create_flag(&new_flag("a")).await.unwrap();
    let b = client.create_flag(&new_flag("b")).await.unwrap();
    let res = client
        .bulk_update_tags(&[a.id, b.id, 999_999], TagAction::Add, &["Released".into()])
        .await
        .unwrap();
    assert_eq!(res.updated.len(), 2);
    assert_eq!(res.updated[0].tags, vec!["guardian", "released", "studio"]);
    assert_eq!(res.skipped.len(), 1);
    let activity: Vec<_> = client.flag_activity(a.id).try_collect().await.unwrap();
    assert_eq!(activity[0].detail.changes[0].field.as_deref(), Some("tags"));
    assert_eq!(
        activity[0].detail.changes[0].after,
        json!(["guardian", "released", "studio"])
    );
    assert_eq!(activity.last().unwrap().activity, "created");
}

#[tokio::test]
async fn activity_is_paged_by_page_number() {
    let emu = flags_runtime::emulator::Emulator::start().await.unwrap();
    let client = flags_runtime::client::Client::new(
        emu.client_config()
            .retry(crate::support::fast_retry())
            .limits(flags_runtime::client::Limits::unlimited())
            .page_size(10)
            .build()
            .unwrap(),
    )
    .unwrap();
    let f = client.create_flag(&new_flag("paged")).await.unwrap();
    for i in 0..24 {
        client
            .update_flag(
                f.id,
                &FlagPatch {
                    name: Some(format!("v{i}")),
                    ..FlagPatch::default()
                },
            )
            .await
            .unwrap();
    }
    let entries: Vec<_> = client.flag_activity(f.id).try_collect().await.unwrap();
    assert_eq!(entries.len(), 25);
    assert_eq!(
        entries[0]
            .detail
            .changes
            .iter()
            .find(|c| c.field.as_deref() == Some("name"))
            .unwrap()
            .after,
        json!("v23")
    );
    assert_eq!(
        emu.log()
            .count("GET /api/projects/{id}/feature_flags/{id}/activity/"),
        3
    );
}

#[tokio::test]
async fn status_reports_effectively_full_rollout() {
    let (_emu, client) = setup().await;
    let mut full = new_flag("full");
    full.filters = Some(json!({ "groups": [{ "properties": [], "rollout_percentage": 100 }] }));
    full.active = Some(true);
    let f = client.create_flag(&full).await.unwrap();
    let status = client.flag_status(f.id).await.unwrap();
    assert!(status.rollout.unwrap().effectively_full_rollout);
    let partial = client.create_flag(&new_flag("partial")).await.unwrap();
    let status = client.flag_status(partial.id).await.unwrap();
    assert!(!status.rollout.unwrap().effectively_full_rollout);
}

#[tokio::test]
async fn experiments_are_paged_and_archived_ones_hidden() {
    let emu = flags_runtime::emulator::Emulator::start().await.unwrap();
    let exps: Vec<Value> =
        (0..230).map(|i| json!({ "name": format!("e{i}"), "feature_flag_key": format!("exp_{i}"), "archived": i % 10 == 0 })).collect();
    emu.seed(&json!({ "experiments": exps })).unwrap();
    let client = client_for(&emu);
    let listed: Vec<_> = client
        .list_experiments(&ListExperiments::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 207);
    assert!(listed.iter().all(|e| !e.archived));
    assert_eq!(listed[0].name, "e229", "newest first");
    let archived: Vec<_> = client
        .list_experiments(&ListExperiments {
            archived: Some(true),
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(archived.len(), 23);
}

fn ev(event: &str, user: &str, ts: &str, props: Value) -> Value {
    json!({ "event": event, "distinct_id": user, "timestamp": ts, "properties": props })
}

fn exposure(flag: &str, variant: Value, user: &str, ts: &str) -> Value {
    ev(
        "$feature_flag_called",
        user,
        ts,
        json!({ "$feature_flag": flag, "$feature_flag_response": variant }),
    )
}

fn guard_params() -> GuardQuery {
    let evil = "o'brien\"; DROP TABLE events; --";
    GuardQuery {
        flags: vec![
            ("new_editor".into(), "2026-01-01T00:00:00Z".into()),
            (evil.into(), "2026-01-05T00:00:00Z".into()),
        ],
        outcomes: vec![
            GuardOutcome {
                event: "$exception".into(),
                success_property: None,
            },
            GuardOutcome {
                event: "post/publish.completed".into(),
                success_property: Some("success".into()),
            },
        ],
        until: "2026-02-01T00:00:00Z".into(),
    }
}

fn guard_events() -> Value {
    json!([
        exposure("new_editor", json!(true), "u1", "2026-01-02T00:00:00Z"),
        exposure("new_editor", json!(true), "u1", "2026-01-03T00:00:00Z"),
        exposure("new_editor", json!(true), "u2", "2026-01-02T00:00:00Z"),
        exposure("new_editor", json!(false), "u3", "2026-01-02T00:00:00Z"),
        exposure(
            "o'brien\"; DROP TABLE events; --",
            json!("test"),
            "u4",
            "2026-01-05T00:00:00Z"
        ),
        // Before the second flag's own window: not counted.
        exposure(
            "o'brien\"; DROP TABLE events; --",
            json!("test"),
            "u4",
            "2026-01-03T00:00:00Z"
        ),
        // u5 saw both arms: kept apart.
        exposure("new_editor", json!(true), "u5", "2026-01-02T00:00:00Z"),
        exposure("new_editor", json!(false), "u5", "2026-01-03T00:00:00Z"),
        exposure("unguarded", json!(true), "u1", "2026-01-02T00:00:00Z"),
        exposure("new_editor", json!(true), "late", "2026-03-01T00:00:00Z"),
        // u1: one exception before exposure (ignored), one after; two publishes, one successful.
        ev("$exception", "u1", "2026-01-01T12:00:00Z", json!({})),
        ev("$exception", "u1", "2026-01-04T00:00:00Z", json!({})),
        ev(
            "post/publish.completed",
            "u1",
            "2026-01-04T00:00:00Z",
            json!({ "success": true })
        ),
        ev(
            "post/publish.completed",
            "u1",
            "2026-01-04T01:00:00Z",
            json!({ "success": false })
        ),
        // u2: a successful publish (string "true").
        ev(
            "post/publish.completed",
            "u2",
            "2026-01-05T00:00:00Z",
            json!({ "success": "true" })
        ),
        // u3: an exception after the window.
        ev("$exception", "u3", "2026-02-02T00:00:00Z", json!({})),
        // u4: publish with success 1.
        ev(
            "post/publish.completed",
            "u4",
            "2026-01-06T00:00:00Z",
            json!({ "success": 1 })
        ),
    ])
}

/// A row: `[users, exposure_events, users_with_events, events, successes, Σn², Σs², Σns]`.
fn row(flag: &str, variant: &str, outcome: u64, n: [u64; 8]) -> GuardRow {
    GuardRow {
        flag: flag.into(),
        variant: variant.into(),
        outcome,
        users: n[0],
        exposure_events: n[1],
        sums: OutcomeSums {
            users_with_events: n[2],
            events: n[3],
            successes: n[4],
            events_squared: n[5],
            successes_squared: n[6],
            events_by_successes: n[7],
        },
    }
}

#[tokio::test]
async fn guard_query_is_computed_from_events_with_values_placeholders() {
    let (emu, client) = setup().await;
    emu.seed(&json!({ "events": guard_events() })).unwrap();
    let rows = client.guard_query(&guard_params()).await.unwrap();
    let evil = "o'brien\"; DROP TABLE events; --";
    assert_eq!(
        rows,
        vec![
            row("new_editor", "$multiple", 1, [1, 2, 0, 0, 0, 0, 0, 0]),
            row("new_editor", "$multiple", 2, [1, 2, 0, 0, 0, 0, 0, 0]),
            row("new_editor", "false", 1, [1, 1, 0, 0, 0, 0, 0, 0]),
            row("new_editor", "false", 2, [1, 1, 0, 0, 0, 0, 0, 0]),
            // u1's exception before exposure does not count; every exception is a "success".
            row("new_editor", "true", 1, [2, 3, 1, 1, 1, 1, 1, 1]),
            // u1: 2 publishes, 1 successful; u2: 1, successful ("true" as a string).
            row("new_editor", "true", 2, [2, 3, 2, 3, 2, 5, 2, 3]),
            row(evil, "test", 1, [1, 1, 0, 0, 0, 0, 0, 0]),
            // success: 1 counts.
            row(evil, "test", 2, [1, 1, 1, 1, 1, 1, 1, 1]),
        ]
    );
}

#[tokio::test]
async fn queries_answered_with_202_are_polled_until_complete() {
    let (emu, client) = setup().await;
    emu.seed(&json!({ "events": guard_events() })).unwrap();
    let direct = client.guard_query(&guard_params()).await.unwrap();
    emu.set_knobs(Knobs {
        query_async_polls: 3,
        ..Knobs::default()
    });
    emu.clear_log();
    let polled = client.guard_query(&guard_params()).await.unwrap();
    assert_eq!(polled, direct);
    assert_eq!(emu.log().count("GET /api/projects/{id}/query/{id}/"), 3);
}

#[tokio::test]
async fn unsupported_and_broken_queries_are_refused() {
    let (_emu, client) = setup().await;
    let err = client
        .query("SELECT count() FROM events", Map::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(UNSUPPORTED_CODE), "{err:?}");
    let broken = "SELECT count() FROM events WHERE properties[`$feature/new_editor`] = 'true'";
    match client.query(broken, Map::new()).await.unwrap_err() {
        Error::Api {
            status: 400,
            detail,
            ..
        } => assert_eq!(detail, "Unable to resolve field: $feature/new_editor"),
        other => panic!("{other:?}"),
    }
    let mut missing = guard_params().values();
    missing.remove("since");
    let err = client.query(GUARD_QUERY, missing).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
}

#[tokio::test]
async fn definitions_use_etags_and_report_quota() {
    let (emu, client) = setup().await;
    client.create_flag(&new_flag("b_flag")).await.unwrap();
    client.create_flag(&new_flag("a_flag")).await.unwrap();
    let DefinitionsResponse::Modified { definitions, etag } =
        client.flag_definitions(None).await.unwrap()
    else {
        panic!("expected definitions")
    };
    let keys: Vec<_> = definitions
        .flags
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        vec!["a_flag", "b_flag"],
        "ordered by key, inactive flags included"
    );
    let etag = etag.unwrap();
    assert!(matches!(
        client.flag_definitions(Some(&etag)).await.unwrap(),
        DefinitionsResponse::NotModified
    ));
    // The definitions compile into the evaluator.
    let snapshot = flags_runtime::eval::Snapshot::compile(&definitions);
    assert_eq!(snapshot.len(), 2);
    client.create_flag(&new_flag("c_flag")).await.unwrap();
    assert!(matches!(
        client.flag_definitions(Some(&etag)).await.unwrap(),
        DefinitionsResponse::Modified { .. }
    ));
    emu.set_knobs(Knobs {
        quota_limited: true,
        ..Knobs::default()
    });
    assert_eq!(
        client.flag_definitions(None).await.unwrap_err().status(),
        Some(402)
    );
}

#[tokio::test]
async fn remote_evaluation_and_capture() {
    let (emu, client) = setup().await;
    let mut on = new_flag("on");
    on.filters = Some(json!({ "groups": [{ "properties": [], "rollout_percentage": 100 }] }));
    on.active = Some(true);
    client.create_flag(&on).await.unwrap();
    client.create_flag(&new_flag("off")).await.unwrap();
    let resp = client
        .flags(&FlagsRequest {
            distinct_id: "u1".into(),
            ..FlagsRequest::default()
        })
        .await
        .unwrap();
    assert!(resp.flags["on"].enabled);
    assert!(!resp.flags["off"].enabled);

    let events: Vec<CaptureEvent> = (0..3)
        .map(|i| CaptureEvent {
            event: "clicked".into(),
            distinct_id: format!("u{i}"),
            ..CaptureEvent::default()
        })
        .collect();
    client.capture_batch(&events).await.unwrap();
    assert_eq!(emu.dump()["events"].as_array().unwrap().len(), 3);
}
