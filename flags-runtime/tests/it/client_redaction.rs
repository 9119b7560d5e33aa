//! The canary test: keys never appear in logs, errors, `Debug` output or snapshots.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flags_runtime::client::{
    CaptureEvent, Client, Config, FlagPatch, FlagsRequest, GuardOutcome, GuardQuery, Limits,
    ListFlags, NewFlag, RetryPolicy,
};
use flags_runtime::emulator::{ApiKey, Emulator, FaultKind, Faults, Knobs};
use futures_util::TryStreamExt;
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

const PERSONAL: &str = "phx_CANARY_personal_5f1e2d3c";
const PROJECT: &str = "phc_CANARY_project_9a8b7c6d";

static CAPTURE: std::sync::OnceLock<Capture> = std::sync::OnceLock::new();

/// A subscriber that writes every span field and event field, at every level, into a buffer.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<String>>);

struct Writer<'a>(&'a mut String);

impl Visit for Writer<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut out = self.0.lock().unwrap();
        out.push_str(span.metadata().name());
        span.record(&mut Writer(&mut out));
        out.push('\n');
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        values.record(&mut Writer(&mut self.0.lock().unwrap()));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut out = self.0.lock().unwrap();
        event.record(&mut Writer(&mut out));
        out.push('\n');
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[tokio::test]
async fn canary_keys_never_leak() {
    // A global subscriber: a thread-local one (`set_default`) misses callsites whose interest
    // was cached while tests on other threads ran without a subscriber.
    let capture = CAPTURE
        .get_or_init(|| {
            let c = Capture::default();
            tracing::subscriber::set_global_default(c.clone()).expect("the only global subscriber");
            c
        })
        .clone();

    let emu = Emulator::builder()
        .personal_api_keys(vec![ApiKey {
            key: PERSONAL.into(),
            scopes: vec!["*".into()],
        }])
        .project_api_key(PROJECT)
        .start()
        .await
        .unwrap();
    let config = emu
        .client_config()
        .retry(RetryPolicy {
            max_attempts: 3,
            min_delay: Duration::from_millis(1),
            ..RetryPolicy::default()
        })
        .limits(Limits::unlimited())
        .request_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let client = Client::new(config.clone()).unwrap();
    let mut seen = String::new();
    let mut note = |s: String| {
        seen.push_str(&s);
        seen.push('\n');
    };
    note(format!("{config:?} {client:?} {:?}", emu));

    // Successful calls of every kind, with faults so retries are logged too.
    emu.set_knobs(Knobs {
        faults: Some(Faults {
            kind: FaultKind::Reset,
            every: Some(3),
            probability: None,
            seed: 0,
            matching: None,
        }),
        ..Knobs::default()
    });
    let flag = client
        .create_flag(&NewFlag {
            key: "canary".into(),
            filters: Some(json!({"groups": [{"properties": [], "rollout_percentage": 5}]})),
            ..NewFlag::default()
        })
        .await
        .unwrap();
    client
        .update_flag(
            flag.id,
            &FlagPatch {
                active: Some(false),
                ..FlagPatch::default()
            },
        )
        .await
        .unwrap();
    let _ = client
        .list_flags(&ListFlags::everything())
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let _ = client
        .flag_activity(flag.id)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    note(format!(
        "{:?}",
        client.flag_definitions(None).await.unwrap()
    ));
    note(format!(
        "{:?}",
        client
            .flags(&FlagsRequest {
                distinct_id: "u".into(),
                ..FlagsRequest::default()
            })
            .await
            .unwrap()
    ));
    client
        .capture_batch(&[CaptureEvent {
            event: "e".into(),
            distinct_id: "u".into(),
            ..CaptureEvent::default()
        }])
        .await
        .unwrap();
    let q = GuardQuery {
        flags: vec![("canary".into(), "2020-01-01".into())],
        outcomes: vec![GuardOutcome {
            event: "e".into(),
            success_property: Some("s".into()),
        }],
        until: "2100-01-01".into(),
    };
    note(format!("{:?}", client.guard_query(&q).await.unwrap()));
    emu.set_knobs(Knobs::default());

    // Failures of every stage.
    let wrong = Client::new(
        Config::builder()
            .host(emu.base_url())
            .project_id(1)
            .personal_api_key(format!("{PERSONAL}_wrong"))
            .project_api_key(format!("{PROJECT}_wrong"))
            .retry(RetryPolicy::none())
            .build()
            .unwrap(),
    )
    .unwrap();
    let mut errors = vec![
        wrong.get_flag(flag.id).await.unwrap_err(),
        wrong.flag_definitions(None).await.unwrap_err(),
        wrong
            .flags(&FlagsRequest {
                distinct_id: "u".into(),
                ..FlagsRequest::default()
            })
            .await
            .unwrap_err(),
        wrong.capture_batch(&[]).await.unwrap_err(),
    ];
    emu.set_knobs(Knobs {
        latency_ms: 1_000,
        ..Knobs::default()
    });
    errors.push(client.get_flag(flag.id).await.unwrap_err());
    emu.set_knobs(Knobs::default());
    let dead = Client::new(
        Config::builder()
            .host("http://127.0.0.1:9")
            .project_id(1)
            .personal_api_key(PERSONAL)
            .project_api_key(PROJECT)
            .retry(RetryPolicy::none())
            .build()
            .unwrap(),
    )
    .unwrap();
    errors.push(dead.get_flag(1).await.unwrap_err());
    errors.push(
        Config::builder()
            .project_api_key(format!("{PERSONAL} x"))
            .build()
            .unwrap_err(),
    );
    assert!(errors.iter().any(|e| e.status() == Some(401)));
    assert!(errors.iter().any(|e| e.is_timeout()));
    for e in &errors {
        note(format!(
            "{e} | {e:?} | {:?}",
            std::error::Error::source(e).map(|s| s.to_string())
        ));
    }

    // Snapshots: the emulator's dump and request log.
    note(emu.dump().to_string());
    note(format!("{:?}", emu.log()));

    let logs = capture.0.lock().unwrap().clone();
    assert!(logs.contains("posthog_request"), "spans were captured");
    assert!(logs.contains("retrying"), "retries were logged");
    for field in ["method=", "route=", "attempt=", "status=", "duration_ms="] {
        assert!(logs.contains(field), "spans carry {field}");
    }
    for (what, text) in [
        ("logs", &logs),
        ("errors, Debug output and snapshots", &seen),
    ] {
        assert!(
            !text.contains("CANARY"),
            "a key leaked into {what}:\n{text}"
        );
    }
}
