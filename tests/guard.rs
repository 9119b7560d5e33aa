//! `flagsync guard` end to end: the real binary against the emulator, on the 50 guarded flags
//! of `tests/guard/flags.yaml`, with every event captured through the real `/batch/` endpoint.
//! 5 flags regress (3 of them enforced), 10 stay below the sample floor, 35 are healthy; 230
//! newer unguarded flags push the guarded ones past the newest 200.

use std::path::PathBuf;
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};

use flags_runtime::client::{CaptureEvent, Client, Limits};
use flags_runtime::emulator::Knobs;
use flags_runtime::jobs::guard::time::{format_ms, now_ms};
use serde_json::{Map, Value, json};
use support::Posthog;

mod support;

const MINUTE: i64 = 60_000;
const QUERY: &str = "POST /api/projects/{id}/query/";
const PATCH: &str = "PATCH /api/projects/{id}/feature_flags/{id}/";
const LIST: &str = "GET /api/projects/{id}/feature_flags/";

/// One arm of a flag's simulated traffic.
struct Arm {
    name: &'static str,
    users: usize,
    with_exception: usize,
    /// Persons whose one `checkout.completed` has `ok: true` (only for flags with the metric).
    checkout_ok: Option<usize>,
}

fn arm(name: &'static str, users: usize, with_exception: usize) -> Arm {
    Arm {
        name,
        users,
        with_exception,
        checkout_ok: None,
    }
}

fn with_checkout(mut a: Arm, ok: usize) -> Arm {
    a.checkout_ok = Some(ok);
    a
}

/// Every guarded flag of the fixture and its traffic.
fn traffic() -> Vec<(String, Vec<Arm>)> {
    let mut out = vec![
        // Exceptions: 5% in control, 30%/27%/23% in treatment (strongest first).
        (
            "release_web_regress_1".to_owned(),
            vec![arm("false", 300, 15), arm("true", 300, 90)],
        ),
        (
            "release_web_regress_2".to_owned(),
            vec![arm("false", 300, 15), arm("true", 300, 80)],
        ),
        (
            "release_web_regress_3".to_owned(),
            vec![arm("false", 300, 15), arm("true", 300, 70)],
        ),
        // Same exceptions, checkout success 90% → 50% (max_drop 10%).
        (
            "release_web_regress_4".to_owned(),
            vec![
                with_checkout(arm("false", 300, 15), 270),
                with_checkout(arm("true", 300, 15), 150),
            ],
        ),
        (
            "experiment_web_regress_5".to_owned(),
            vec![arm("control", 300, 15), arm("test", 300, 90)],
        ),
    ];
    for i in 1..=10 {
        out.push((
            format!("release_web_sparse_{i}"),
            vec![arm("false", 20, 1), arm("true", 20, 1)],
        ));
    }
    for i in 1..=34 {
        let arms = if i % 5 == 0 {
            vec![
                with_checkout(arm("false", 300, 15), 270),
                with_checkout(arm("true", 300, 15), 270),
            ]
        } else {
            vec![arm("false", 300, 15), arm("true", 300, 15)]
        };
        out.push((format!("release_web_steady_{i}"), arms));
    }
    out.push((
        "experiment_web_steady_35".to_owned(),
        vec![
            arm("control", 300, 20),
            arm("a", 150, 10),
            arm("b", 150, 10),
        ],
    ));
    out
}

fn seeded_flag(key: &str, arms: &[Arm], created: i64) -> Value {
    let filters = if arms[0].name == "false" {
        json!({ "groups": [{ "properties": [], "rollout_percentage": 50 }] })
    } else {
        let total: usize = arms.iter().map(|a| a.users).sum();
        let variants: Vec<Value> = arms
            .iter()
            .map(|a| json!({ "key": a.name, "rollout_percentage": a.users * 100 / total }))
            .collect();
        json!({ "groups": [{ "properties": [], "rollout_percentage": 100 }], "multivariate": { "variants": variants } })
    };
    json!({
        "key": key, "name": format!("{key} description"), "filters": filters, "active": true,
        "created_at": format_ms(created), "updated_at": format_ms(created + 8 * 1_440 * MINUTE),
    })
}

fn event(name: &str, user: &str, at: i64, properties: Value) -> CaptureEvent {
    CaptureEvent {
        event: name.into(),
        distinct_id: user.into(),
        properties: properties.as_object().cloned().unwrap_or_else(Map::new),
        timestamp: Some(format_ms(at)),
        uuid: None,
    }
}

/// Minimal exposure events, as PostHog's SDKs send them when the server asks: `$feature_flag`
/// and `$feature_flag_response`, no `$feature/<key>`.
fn events(key: &str, arms: &[Arm], now: i64) -> Vec<CaptureEvent> {
    let mut out = Vec::new();
    for a in arms {
        for i in 0..a.users {
            let user = format!("{key}-{}-{i}", a.name);
            let at = now - 120 * MINUTE + i as i64 * 1_000;
            let response = match a.name {
                "true" => json!(true),
                "false" => json!(false),
                v => json!(v),
            };
            out.push(event(
                "$feature_flag_called",
                &user,
                at,
                json!({ "$feature_flag": key, "$feature_flag_response": response, "locally_evaluated": true }),
            ));
            if i < a.with_exception {
                out.push(event(
                    "$exception",
                    &user,
                    at + MINUTE,
                    json!({ "$exception_type": "Error" }),
                ));
            }
            if let Some(ok) = a.checkout_ok {
                out.push(event(
                    "checkout.completed",
                    &user,
                    at + 2 * MINUTE,
                    json!({ "ok": i < ok }),
                ));
            }
        }
    }
    out
}

/// An emulator holding the fixture's flags and events, and a scratch directory.
struct Fixture {
    ph: Posthog,
    dir: PathBuf,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Fixture {
    /// `tweak` may edit the seeded flags (by key) before they are stored.
    fn new(tweak: impl FnOnce(&mut Vec<Value>, i64)) -> Fixture {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "flagsync-guard-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let ph = Posthog::start();
        let emu = &ph.emu;
        let now = now_ms();
        let traffic = traffic();
        // Guarded flags ten days old, edited two days ago; 230 newer flags on top of them.
        let mut flags: Vec<Value> = traffic
            .iter()
            .enumerate()
            .map(|(i, (key, arms))| seeded_flag(key, arms, now - 10 * 1_440 * MINUTE + i as i64))
            .collect();
        for i in 0..230 {
            flags.push(json!({
                "key": format!("release_web_filler_{i}"), "name": "newer, unguarded",
                "filters": { "groups": [{ "properties": [], "rollout_percentage": 100 }] },
                "created_at": format_ms(now - 1_440 * MINUTE + i * 1_000),
            }));
        }
        tweak(&mut flags, now);
        emu.seed(&json!({ "flags": flags })).expect("seed flags");
        let client = Client::new(
            emu.client_config()
                .limits(Limits::unlimited())
                .build()
                .expect("config"),
        )
        .expect("client");
        let all: Vec<CaptureEvent> = traffic
            .iter()
            .flat_map(|(key, arms)| events(key, arms, now))
            .collect();
        ph.rt.block_on(async {
            for batch in all.chunks(2_000) {
                client.capture_batch(batch).await.expect("capture");
            }
        });
        emu.clear_log();
        Fixture { ph, dir }
    }

    fn audit_path(&self) -> PathBuf {
        self.dir.join("audit.jsonl")
    }

    /// Runs `flagsync guard --format json` with `extra` arguments: the exit code and the report.
    fn guard(&self, extra: &[&str]) -> (Option<i32>, Value) {
        let audit = self.audit_path();
        let emu = &self.ph.emu;
        let out: Output = self
            .ph
            .flagsync()
            .args(["guard", "--file"])
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/guard/flags.yaml"
            ))
            .args(["--format", "json", "--audit-log"])
            .arg(&audit)
            .args(extra)
            .env("SLACK_WEBHOOK_URL", emu.slack_webhook_url())
            .output()
            .expect("run flagsync guard");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains(emu.personal_api_key()), "{stderr}");
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: stdout is not JSON; stderr: {stderr}"));
        (out.status.code(), report)
    }

    fn remote(&self, key: &str) -> Value {
        self.ph.emu.dump()["flags"]
            .as_array()
            .and_then(|flags| flags.iter().find(|f| f["key"] == key).cloned())
            .unwrap_or(Value::Null)
    }

    fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(self.audit_path())
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect()
    }
}

fn decision<'r>(report: &'r Value, key: &str) -> &'r Value {
    report["decisions"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["flag"] == key))
        .unwrap_or_else(|| panic!("no decision for {key}"))
}

/// Keys with this decision, sorted.
fn keys_with(report: &Value, decision: &str) -> Vec<String> {
    let mut keys: Vec<String> = report["decisions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["decision"] == decision)
        .filter_map(|d| d["flag"].as_str().map(str::to_owned))
        .collect();
    keys.sort();
    keys
}

#[test]
fn exactly_the_enforced_regressions_are_disabled_in_one_query() {
    let fx = Fixture::new(|_, _| {});
    let (code, report) = fx.guard(&[]);
    assert_eq!(code, Some(2), "findings exit 2: {report:#}");
    assert_eq!(
        report["summary"],
        json!({ "healthy": 35, "regression": 2, "disabled": 3, "insufficient_data": 10, "blocked": 0, "skipped": 0 })
    );
    assert_eq!(
        keys_with(&report, "disabled"),
        [
            "release_web_regress_1",
            "release_web_regress_2",
            "release_web_regress_3"
        ]
    );
    assert_eq!(
        keys_with(&report, "regression"),
        ["experiment_web_regress_5", "release_web_regress_4"]
    );
    for i in 1..=10 {
        let d = decision(&report, &format!("release_web_sparse_{i}"));
        assert_eq!(
            (d["decision"].as_str(), d["reason"].as_str()),
            (Some("insufficient_data"), Some("sample_floor"))
        );
    }
    // The metric regression is the checkout success rate, the variant one is `test`.
    let d = decision(&report, "release_web_regress_4");
    assert!(
        d["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("checkout.completed (ok)"),
        "{d:#}"
    );
    assert_eq!(d["action"], "none");
    assert_eq!(
        decision(&report, "experiment_web_regress_5")["tests"][0]["treatment"],
        "test"
    );

    // One list (every page: 280 flags), one query, three writes, all disables.
    let log = fx.ph.emu.log();
    assert_eq!(log.count(QUERY), 1);
    assert_eq!(log.count(LIST), 3);
    assert_eq!(log.count(PATCH), 3);
    for key in [
        "release_web_regress_1",
        "release_web_regress_2",
        "release_web_regress_3",
    ] {
        assert_eq!(fx.remote(key)["active"], false, "{key}");
    }
    assert_eq!(fx.remote("release_web_regress_4")["active"], true);
    assert_eq!(fx.remote("experiment_web_regress_5")["active"], true);

    // The audit record holds every decision with its numbers.
    let audit = fx.audit();
    assert_eq!(audit.len(), 50);
    let line = audit
        .iter()
        .find(|l| l["flag"] == "release_web_regress_1")
        .expect("audited");
    assert_eq!(line["decision"], "disabled");
    assert_eq!(line["run_id"], report["run"]["run_id"]);
    assert_eq!(line["arms"][1]["users"], 300);
    assert!(
        line["tests"][0]["ln_evidence"].as_f64().unwrap_or(0.0)
            > line["tests"][0]["threshold"].as_f64().unwrap_or(f64::MAX)
    );

    // One Slack alert with the five regressions.
    let slack = fx.ph.emu.slack_messages();
    assert_eq!(slack.len(), 1);
    let text = slack[0].to_string();
    for i in 1..=4 {
        assert!(text.contains(&format!("release_web_regress_{i}")), "{text}");
    }
    assert!(
        text.contains("experiment_web_regress_5") && text.contains("disabled"),
        "{text}"
    );

    // A second run: the disabled flags are skipped (never switched back on), the audit grows.
    fx.ph.emu.clear_log();
    let (code, again) = fx.guard(&[]);
    assert_eq!(code, Some(2), "the report-only regressions are still there");
    assert_eq!(again["summary"]["skipped"], 3);
    assert_eq!(again["summary"]["disabled"], 0);
    assert_eq!(fx.ph.emu.log().count(QUERY), 1);
    assert_eq!(fx.ph.emu.log().count(PATCH), 0);
    assert_eq!(fx.audit().len(), 100);
    assert_eq!(fx.remote("release_web_regress_1")["active"], false);
}

#[test]
fn a_flag_edited_five_minutes_ago_waits_out_its_cooldown() {
    let fx = Fixture::new(|flags, now| {
        for f in flags
            .iter_mut()
            .filter(|f| f["key"] == "release_web_regress_1")
        {
            f["updated_at"] = json!(format_ms(now - 5 * MINUTE));
        }
    });
    let (_, report) = fx.guard(&[]);
    let d = decision(&report, "release_web_regress_1");
    assert_eq!(
        (d["decision"].as_str(), d["reason"].as_str()),
        (Some("insufficient_data"), Some("cooldown"))
    );
    assert!(
        d["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("30m cooldown"),
        "{d:#}"
    );
    assert_eq!(fx.remote("release_web_regress_1")["active"], true);
    assert_eq!(keys_with(&report, "disabled").len(), 2);
    assert_eq!(fx.ph.emu.log().count(QUERY), 1);
}

#[test]
fn at_most_max_disables_flags_are_switched_off_strongest_first() {
    let fx = Fixture::new(|_, _| {});
    let (_, report) = fx.guard(&["--max-disables", "2"]);
    assert_eq!(
        keys_with(&report, "disabled"),
        ["release_web_regress_1", "release_web_regress_2"]
    );
    let d = decision(&report, "release_web_regress_3");
    assert_eq!(
        (d["decision"].as_str(), d["action"].as_str()),
        (Some("regression"), Some("cap_reached"))
    );
    assert_eq!(fx.ph.emu.log().count(PATCH), 2);
    assert_eq!(fx.remote("release_web_regress_3")["active"], true);
}

#[test]
fn refused_disables_are_blocked_and_not_retried() {
    let fx = Fixture::new(|flags, _| {
        // An active flag that depends on regress_3 (PostHog refuses to disable it: 400).
        flags.push(
            json!({ "key": "release_web_dependent", "name": "depends on regress_3",
            "filters": { "groups": [{ "properties": [], "rollout_percentage": 100 }] } }),
        );
    });
    let id = fx.remote("release_web_regress_3")["id"].clone();
    let dependent_id = fx.remote("release_web_dependent")["id"]
        .as_i64()
        .expect("id");
    // Point the dependent flag at regress_3 and gate regress_2 behind an approval policy (409).
    let client = Client::new(
        fx.ph
            .emu
            .client_config()
            .limits(Limits::unlimited())
            .build()
            .expect("config"),
    )
    .expect("client");
    fx.ph.rt.block_on(async {
        client
            .update_flag(dependent_id, &flags_runtime::client::FlagPatch {
                filters: Some(json!({ "groups": [{ "properties": [{ "key": id.to_string(), "type": "flag", "value": true, "operator": "flag_evaluates_to" }], "rollout_percentage": 100 }] })),
                ..Default::default()
            })
            .await
            .expect("make it depend on regress_3");
    });
    fx.ph.emu.set_knobs(Knobs {
        approval_required: vec!["release_web_regress_2".into()],
        ..fx.ph.emu.knobs()
    });
    fx.ph.emu.clear_log();

    let (code, report) = fx.guard(&[]);
    assert_eq!(code, Some(2));
    assert_eq!(keys_with(&report, "disabled"), ["release_web_regress_1"]);
    for (key, status) in [
        ("release_web_regress_2", 409),
        ("release_web_regress_3", 400),
    ] {
        let d = decision(&report, key);
        assert_eq!(
            (
                d["decision"].as_str(),
                d["reason"].as_str(),
                d["action"].as_str()
            ),
            (
                Some("blocked"),
                Some("posthog_refused"),
                Some("disable_failed")
            ),
            "{key}"
        );
        assert_eq!(d["posthog"]["status"], status, "{key}");
        assert_eq!(fx.remote(key)["active"], true, "{key}");
    }
    assert!(
        decision(&report, "release_web_regress_3")["posthog"]["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("release_web_dependent")
    );
    // One attempt each, no retry.
    let log = fx.ph.emu.log();
    assert_eq!(log.count(PATCH), 3);
    assert_eq!((log.status_count(409), log.status_count(400)), (1, 1));
    let slack = fx
        .ph
        .emu
        .slack_messages()
        .last()
        .map(Value::to_string)
        .unwrap_or_default();
    assert!(slack.contains("disable refused"), "{slack}");
}

#[test]
fn a_dry_run_changes_nothing() {
    let fx = Fixture::new(|_, _| {});
    let (code, report) = fx.guard(&["--dry-run"]);
    assert_eq!(code, Some(2));
    assert!(keys_with(&report, "disabled").is_empty());
    let d = decision(&report, "release_web_regress_1");
    assert_eq!(
        (d["decision"].as_str(), d["action"].as_str()),
        (Some("regression"), Some("would_disable"))
    );
    assert_eq!(fx.ph.emu.log().count(PATCH), 0);
    assert_eq!(fx.audit()[0]["dry_run"], true);
}
