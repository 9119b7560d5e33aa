//! FlagsClient against the emulator over real HTTP: polling with ETag, the snapshot file,
//! 401/402, remote fallback, exposures and capture.

use std::time::Duration;

use flags_runtime::app::{
    EvalError, EvalReason, FlagsClient, FlagsClientBuilder, RulesSource, Source,
};
use flags_runtime::client::{CaptureEvent, Config, ConfigBuilder, FlagPatch, Limits};
use flags_runtime::emulator::{Emulator, Knobs};
use flags_runtime::eval::{EvalContext, InconclusiveReason, Properties};
use serde_json::{Value, json};

use super::app_client::rules;
use super::app_registry::{
    ExperimentAiSummaryModel, ExperimentAiSummaryModelVariant as Model, ReleaseStudioDarkMode,
    ReleaseStudioNewEditor,
};
use super::support::{client_for, fast_retry};

fn pro() -> Properties {
    let mut p = Properties::new();
    p.insert("plan", "pro");
    p
}

fn connection(emu: &Emulator) -> ConfigBuilder {
    emu.client_config()
        .retry(fast_retry())
        .limits(Limits::unlimited())
}

fn builder(config: ConfigBuilder) -> FlagsClientBuilder {
    FlagsClient::builder()
        .client(config)
        .poll_interval(Duration::from_millis(20))
        .flush_interval(Duration::from_millis(5))
}

async fn seeded() -> Emulator {
    let emu = Emulator::start().await.unwrap();
    emu.seed(&json!({ "flags": rules()["flags"] })).unwrap();
    emu
}

/// Waits (boundedly) until `check` holds; the tests assert states, never durations.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never happened: {what}");
}

fn called_events(emu: &Emulator) -> Vec<Value> {
    emu.dump()["events"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e["event"] == "$feature_flag_called")
        .collect()
}

#[tokio::test]
async fn polls_definitions_with_etag_and_publishes_changes() {
    let emu = seeded().await;
    let flags = builder(connection(&emu)).build().await.unwrap();
    assert_eq!(flags.rules_status().source, Some(RulesSource::PostHog));
    let props = pro();
    let user = EvalContext::new("u1", &props);
    let e = flags.evaluate::<ReleaseStudioNewEditor>(&user);
    assert_eq!((e.value, e.source), (true, Source::Local));

    // Unchanged definitions are answered 304 and not recompiled.
    eventually("a 304", || emu.log().status_count(304) > 0).await;
    let updates = flags.stats().rules_updates;
    assert_eq!(updates, 1);

    let admin = client_for(&emu);
    let id = admin
        .find_flag("release_studio_new_editor")
        .await
        .unwrap()
        .unwrap()
        .id;
    admin
        .update_flag(
            id,
            &FlagPatch {
                active: Some(false),
                ..FlagPatch::default()
            },
        )
        .await
        .unwrap();
    eventually("the change is served", || {
        flags.evaluate::<ReleaseStudioNewEditor>(&user).reason == EvalReason::Disabled
    })
    .await;
    assert_eq!(flags.stats().rules_updates, 2);

    flags.shutdown().await;
    let polls = emu.log().count("GET /flags/definitions");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        emu.log().count("GET /flags/definitions"),
        polls,
        "no poll after shutdown"
    );
    // Evaluation goes on with the last rules.
    assert!(!flags.is_enabled::<ReleaseStudioNewEditor>(&user));
}

fn dead_host() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn a_restart_during_an_outage_serves_the_last_known_good_file() {
    let dir = std::env::temp_dir().join(format!("flags-app-lkg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("definitions.json");
    let _ = std::fs::remove_file(&file);

    let emu = seeded().await;
    let first = builder(connection(&emu))
        .snapshot_file(&file)
        .build()
        .await
        .unwrap();
    assert_eq!(first.rules_status().source, Some(RulesSource::PostHog));
    first.shutdown().await;
    assert!(file.exists());

    // PostHog unreachable: the new process starts from the file.
    let down = Config::builder()
        .host(dead_host())
        .personal_api_key("phx_any")
        .project_api_key("phc_any")
        .retry(fast_retry());
    let second = builder(down)
        .snapshot_file(&file)
        .initial_load_timeout(Duration::from_millis(200))
        .build()
        .await
        .unwrap();
    assert_eq!(
        second.rules_status().source,
        Some(RulesSource::SnapshotFile)
    );
    let props = pro();
    let user = EvalContext::new("u1", &props);
    assert!(second.is_enabled::<ReleaseStudioNewEditor>(&user));
    assert_eq!(
        second.variant::<ExperimentAiSummaryModel>(&user),
        Model::Gpt4o
    );
    eventually("a failed poll is counted", || {
        second.stats().poll_errors > 0
    })
    .await;
    // Failed polls keep the rules.
    assert_eq!(
        second.rules_status().source,
        Some(RulesSource::SnapshotFile)
    );
    second.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn over_quota_or_refused_the_rules_are_dropped_and_defaults_served() {
    let emu = seeded().await;
    let flags = builder(connection(&emu)).build().await.unwrap();
    let props = pro();
    let user = EvalContext::new("u1", &props);
    assert!(flags.is_enabled::<ReleaseStudioNewEditor>(&user));

    emu.set_knobs(Knobs {
        quota_limited: true,
        ..Knobs::default()
    });
    eventually("rules dropped on 402", || {
        flags.rules_status().problem == Some(EvalError::QuotaLimited)
    })
    .await;
    let e = flags.evaluate::<ReleaseStudioDarkMode>(&user);
    assert_eq!(
        (e.value, e.reason),
        (true, EvalReason::Error(EvalError::QuotaLimited))
    );

    emu.set_knobs(Knobs::default());
    eventually("rules back", || {
        flags.rules_status().source == Some(RulesSource::PostHog)
    })
    .await;
    flags.shutdown().await;

    let refused = builder(connection(&emu).personal_api_key("phx_not_a_key"))
        .build()
        .await
        .unwrap();
    let e = refused.evaluate::<ReleaseStudioNewEditor>(&user);
    assert_eq!(
        (e.value, e.reason),
        (false, EvalReason::Error(EvalError::Unauthorized))
    );
    refused.shutdown().await;
}

#[tokio::test]
async fn exposures_are_sent_once_per_user_flag_and_value_with_posthogs_properties() {
    let emu = seeded().await;
    let flags = builder(connection(&emu)).build().await.unwrap();
    let props = pro();
    let u1 = EvalContext::new("u1", &props);
    let u2 = EvalContext::new("u2", &props);
    for _ in 0..3 {
        assert!(flags.is_enabled::<ReleaseStudioNewEditor>(&u1));
    }
    assert!(flags.is_enabled::<ReleaseStudioNewEditor>(&u2));
    assert_eq!(flags.variant::<ExperimentAiSummaryModel>(&u1), Model::Gpt4o);
    // Overridden flags send nothing.
    flags.set_override::<ReleaseStudioDarkMode>(true);
    assert!(flags.is_enabled::<ReleaseStudioDarkMode>(&u1));
    flags.flush().await;

    let events = called_events(&emu);
    assert_eq!(events.len(), 3, "{events:#?}");
    let editor_u1 = events
        .iter()
        .find(|e| {
            e["distinct_id"] == "u1"
                && e["properties"]["$feature_flag"] == "release_studio_new_editor"
        })
        .unwrap();
    let p = &editor_u1["properties"];
    assert_eq!(p["$feature_flag_response"], json!(true));
    assert_eq!(p["$feature/release_studio_new_editor"], json!(true));
    assert_eq!(p["locally_evaluated"], json!(true));
    assert_eq!(p["$feature_flag_reason"], json!("Matched condition set 1"));
    assert_eq!(p["$lib"], json!("flags-runtime"));
    let model = events
        .iter()
        .find(|e| e["properties"]["$feature_flag"] == "experiment_ai_summary_model")
        .unwrap();
    assert_eq!(
        model["properties"]["$feature_flag_response"],
        json!("gpt_4o")
    );
    assert_eq!(
        model["properties"]["$feature_flag_payload"],
        json!({"model": "gpt-4o-2026", "max_tokens": 2048})
    );
    let stats = flags.stats();
    assert_eq!((stats.events_sent, stats.events_dropped), (3, 0));
    flags.shutdown().await;
}

#[tokio::test]
async fn a_full_capture_queue_drops_and_counts_instead_of_blocking() {
    let emu = seeded().await;
    let flags = builder(connection(&emu))
        .capture_queue_capacity(1)
        .build()
        .await
        .unwrap();
    let props = pro();
    let ids: Vec<String> = (0..5).map(|i| format!("user-{i}")).collect();
    // On this single-threaded runtime the capture task cannot run between these calls.
    for id in &ids {
        flags.is_enabled::<ReleaseStudioNewEditor>(&EvalContext::new(id, &props));
    }
    let stats = flags.stats();
    assert_eq!((stats.events_queued, stats.events_dropped), (1, 4));
    flags.flush().await;
    assert_eq!(called_events(&emu).len(), 1);
    // A dropped exposure is not remembered as sent: the next evaluation queues it.
    flags.is_enabled::<ReleaseStudioNewEditor>(&EvalContext::new(&ids[1], &props));
    flags.flush().await;
    assert_eq!(called_events(&emu).len(), 2);
    flags.shutdown().await;
}

#[tokio::test]
async fn app_events_carry_feature_properties_and_shutdown_sends_them() {
    let emu = seeded().await;
    let flags = builder(connection(&emu))
        .send_exposures(false)
        .flush_interval(Duration::from_secs(3600))
        .build()
        .await
        .unwrap();
    let props = pro();
    let user = EvalContext::new("u1", &props);
    assert!(flags.capture_with_flags(
        CaptureEvent {
            event: "post/publish.completed".into(),
            distinct_id: "u1".into(),
            properties: json!({"success": true}).as_object().cloned().unwrap(),
            ..CaptureEvent::default()
        },
        &user,
    ));
    flags.is_enabled::<ReleaseStudioNewEditor>(&user);
    flags.shutdown().await;
    let events = emu.dump()["events"].as_array().cloned().unwrap();
    assert_eq!(
        events.len(),
        1,
        "no exposures when they are off: {events:#?}"
    );
    let p = &events[0]["properties"];
    assert_eq!(p["success"], json!(true));
    assert_eq!(p["$feature/release_studio_new_editor"], json!(true));
    assert_eq!(p["$feature/experiment_ai_summary_model"], json!("gpt_4o"));
    assert_eq!(
        p["$active_feature_flags"],
        json!(["experiment_ai_summary_model", "release_studio_new_editor"])
    );
    // After shutdown events are refused and counted.
    assert!(!flags.capture(CaptureEvent {
        event: "late".into(),
        distinct_id: "u1".into(),
        ..CaptureEvent::default()
    }));
    assert_eq!(flags.stats().events_dropped, 1);
}

#[tokio::test]
async fn with_only_a_project_key_the_async_calls_evaluate_remotely() {
    let emu = seeded().await;
    let config = Config::builder()
        .host(emu.base_url())
        .project_api_key(emu.project_api_key())
        .retry(fast_retry());
    let flags = builder(config).build().await.unwrap();
    let props = pro();
    let user = EvalContext::new("u1", &props);
    let local = flags.evaluate::<ReleaseStudioNewEditor>(&user);
    assert_eq!(
        (local.value, local.reason),
        (false, EvalReason::Error(EvalError::NotLoaded))
    );
    assert_eq!(
        emu.log().count("POST /flags"),
        0,
        "sync calls never touch the network"
    );

    let e = flags.evaluate_remote::<ReleaseStudioNewEditor>(&user).await;
    assert_eq!(
        (e.value, e.reason, e.source),
        (
            true,
            EvalReason::ConditionMatch { index: 0 },
            Source::Remote
        )
    );
    assert_eq!(
        flags
            .variant_remote::<ExperimentAiSummaryModel>(&user)
            .await,
        Model::Gpt4o
    );
    let e = flags.evaluate_remote::<ReleaseStudioDarkMode>(&user).await;
    assert_eq!((e.value, e.reason), (false, EvalReason::Disabled));
    assert_eq!(emu.log().count("POST /flags"), 3);
    flags.flush().await;
    let events = called_events(&emu);
    let editor = events
        .iter()
        .find(|e| {
            e["properties"]["$feature_flag"] == "release_studio_new_editor"
                && e["properties"]["$feature_flag_response"] == json!(true)
        })
        .unwrap();
    assert_eq!(editor["properties"]["locally_evaluated"], json!(false));
    assert!(editor["properties"]["$feature_flag_request_id"].is_string());
    assert!(editor["properties"]["$feature_flag_id"].is_i64());
    assert_eq!(flags.stats().remote_calls, 3);
    // The sync call before had no value to report: PostHog's `null`, not evaluated locally.
    let unknown = events
        .iter()
        .find(|e| e["properties"]["$feature_flag_response"].is_null())
        .unwrap();
    assert_eq!(unknown["properties"]["locally_evaluated"], json!(false));
    flags.shutdown().await;
}

#[tokio::test]
async fn the_remote_fallback_asks_only_for_what_local_rules_cannot_decide() {
    let emu = seeded().await;
    let flags = builder(connection(&emu)).build().await.unwrap();
    let props = pro();
    let user = EvalContext::new("u1", &props);
    // Decided locally: no remote call.
    assert!(
        flags
            .is_enabled_remote::<ReleaseStudioNewEditor>(&user)
            .await
    );
    assert_eq!(emu.log().count("POST /flags"), 0);
    // The property is missing: inconclusive locally, so `/flags` is asked. (The emulator's
    // server side lacks PostHog's person store and says so with a code of its own.)
    let nobody = Properties::new();
    let anonymous = EvalContext::new("u2", &nobody);
    let local = flags.evaluate::<ReleaseStudioNewEditor>(&anonymous);
    assert_eq!(
        local.reason,
        EvalReason::Inconclusive(InconclusiveReason::MissingContext)
    );
    let e = flags
        .evaluate_remote::<ReleaseStudioNewEditor>(&anonymous)
        .await;
    assert_eq!(
        (e.reason, e.source),
        (EvalReason::OtherRemoteReason, Source::Remote)
    );
    assert_eq!(emu.log().count("POST /flags"), 1);
    flags.shutdown().await;

    // Fallback off: the local default, and no call.
    let flags = builder(connection(&emu))
        .remote_fallback(false)
        .build()
        .await
        .unwrap();
    let e = flags
        .evaluate_remote::<ReleaseStudioNewEditor>(&anonymous)
        .await;
    assert_eq!(
        e.reason,
        EvalReason::Inconclusive(InconclusiveReason::MissingContext)
    );
    assert_eq!(emu.log().count("POST /flags"), 1);
    flags.shutdown().await;
}

#[tokio::test]
async fn a_slow_posthog_costs_the_remote_timeout_then_the_default() {
    let emu = seeded().await;
    let mut knobs = Knobs::default();
    knobs.route_latency_ms.insert("POST /flags".into(), 5_000);
    emu.set_knobs(knobs);
    let config = Config::builder()
        .host(emu.base_url())
        .project_api_key(emu.project_api_key())
        .retry(fast_retry());
    let flags = builder(config)
        .remote_timeout(Duration::from_millis(50))
        .build()
        .await
        .unwrap();
    let props = pro();
    let e = flags
        .evaluate_remote::<ReleaseStudioDarkMode>(&EvalContext::new("u1", &props))
        .await;
    assert_eq!(
        (e.value, e.reason, e.source),
        (true, EvalReason::Error(EvalError::Timeout), Source::Default)
    );
    assert_eq!(flags.stats().remote_failures, 1);
}

#[tokio::test]
async fn keys_never_show_in_debug_output() {
    let emu = seeded().await;
    let b = builder(connection(&emu));
    let flags = b.clone().build().await.unwrap();
    for text in [format!("{b:?}"), format!("{flags:?}")] {
        assert!(!text.contains(emu.personal_api_key()), "{text}");
        assert!(!text.contains(emu.project_api_key()), "{text}");
    }
    let redis =
        flags_runtime::app::RedisDefinitionCache::new("redis://:hunter2@127.0.0.1:1/", "ns")
            .unwrap();
    assert!(!format!("{redis:?}").contains("hunter2"));
    flags.shutdown().await;
}
