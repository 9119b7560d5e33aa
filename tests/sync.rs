//! `flagsync sync` end to end: the real binary against the PostHog emulator, served in-process
//! over HTTP on 127.0.0.1, one rule of issue 4 per test. Nothing of our own is mocked; the
//! emulator's request log gives exact request counts. No timing assertions.

use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};

use flags_runtime::emulator::{FaultKind, Faults, Knobs};
use serde_json::{Value, json};
use support::Posthog;

mod support;

/// The registry most tests sync: a boolean flag with metadata, capitalised tags and a guardian,
/// a multivariate flag with payloads and a trailing space in its description, a plain flag,
/// and one archived in the yaml.
const REGISTRY: &str = r#"version: 1
naming:
  areas: [studio, ai, billing]
flags:
  release_studio_editor:
    description: The new editor.
    owner: "@Ana"
    backup_owner: "@bob"
    tags: [Studio, " Editor "]
    default: false
    expires: 2027-01-31
    guardian:
      enforce: true
  experiment_ai_model:
    description: "Which model writes summaries. "
    owner: "@ml"
    tags: [ai]
    variants: { control: 50, sonnet: 30, gpt: 20 }
    default: control
    payloads:
      sonnet: { max_tokens: 1024 }
  release_billing_checkout:
    description: The new checkout.
    owner: "@billing"
    default: false
  release_billing_legacy:
    description: The old checkout.
    owner: "@billing"
    default: false
    archived: true
"#;

/// The tags sync gives `release_studio_editor`, as PostHog stores them.
const EDITOR_TAGS: [&str; 8] = [
    "backup-owner:@bob",
    "editor",
    "expires:2027-01-31",
    "guardian",
    "guardian-enforce",
    "lifecycle:release",
    "owner:@ana",
    "studio",
];

static FILES: AtomicUsize = AtomicUsize::new(0);

impl Posthog {
    fn seed(&self, seed: Value) {
        self.emu.seed(&seed).expect("seed");
    }

    /// Runs `flagsync <args> --file <yaml>` against this emulator.
    fn flagsync_with(&self, yaml: &str, args: &[&str]) -> Output {
        let n = FILES.fetch_add(1, Ordering::SeqCst);
        let path = format!(
            "{}/sync-{}-{n}.yaml",
            env!("CARGO_TARGET_TMPDIR"),
            std::process::id()
        );
        std::fs::write(&path, yaml).expect("write the registry");
        let _guard = self.rt.enter();
        self.flagsync()
            .args(args)
            .args(["--file", &path])
            .output()
            .expect("run flagsync")
    }

    /// Requests other than reads since the log was last cleared.
    fn writes(&self) -> u64 {
        let log = self.emu.log();
        log.counts
            .iter()
            .filter(|(route, _)| !route.starts_with("GET "))
            .map(|(_, n)| n)
            .sum()
    }

    fn count(&self, route: &str) -> u64 {
        self.emu.log().count(route)
    }

    /// Every stored flag that is not soft-deleted.
    fn flags(&self) -> Vec<Value> {
        self.emu.dump()["flags"]
            .as_array()
            .expect("flags")
            .iter()
            .filter(|f| f["deleted"] != json!(true))
            .cloned()
            .collect()
    }

    fn flag(&self, key: &str) -> Value {
        self.flags()
            .into_iter()
            .find(|f| f["key"] == json!(key))
            .unwrap_or_else(|| panic!("no flag {key}"))
    }
}

const CREATE: &str = "POST /api/projects/{id}/feature_flags/";
const PATCH: &str = "PATCH /api/projects/{id}/feature_flags/{id}/";
const BULK_TAGS: &str = "POST /api/projects/{id}/feature_flags/bulk_update_tags/";

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json_out(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stderr(out)))
}

fn sorted_tags(flag: &Value) -> Vec<String> {
    let mut tags: Vec<String> = serde_json::from_value(flag["tags"].clone()).expect("tags");
    tags.sort();
    tags
}

fn kinds(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap_or_default().to_owned(),
                f["key"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// A flag as sync would have created it for `release_studio_editor`, for seeding.
fn synced_editor() -> Value {
    json!({
        "key": "release_studio_editor", "name": "The new editor.", "active": false,
        "filters": {"groups": [{"properties": [], "rollout_percentage": 0}]},
        "tags": EDITOR_TAGS,
    })
}

#[test]
fn dry_run_prints_the_plan_writes_nothing_and_exits_2() {
    let ph = Posthog::start();
    let out = ph.flagsync_with(REGISTRY, &["sync", "--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("would create release_studio_editor"));
    assert!(
        !stderr(&out).contains("release_billing_legacy"),
        "archived in the yaml: left alone"
    );
    assert_eq!(ph.writes(), 0);
    assert!(ph.flags().is_empty());

    let out = ph.flagsync_with(REGISTRY, &["sync", "--dry-run", "--format", "json"]);
    let report = json_out(&out);
    assert_eq!(report["dry_run"], json!(true));
    assert_eq!(report["plan"]["creates"].as_array().map(Vec::len), Some(3));
    assert_eq!(report["applied"], Value::Null);
    assert_eq!(report["exit"], json!(2));
    assert_eq!(ph.writes(), 0);
}

#[test]
fn missing_flags_are_created_inactive_at_zero_with_tags_and_variants() {
    let ph = Posthog::start();
    let out = ph.flagsync_with(REGISTRY, &["sync"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        ph.count(CREATE),
        3,
        "one create per missing flag, nothing else"
    );
    assert_eq!(ph.writes(), 3);

    let editor = ph.flag("release_studio_editor");
    assert_eq!(editor["active"], json!(false));
    assert_eq!(editor["name"], json!("The new editor."));
    assert_eq!(
        editor["filters"]["groups"],
        json!([{"properties": [], "rollout_percentage": 0}])
    );
    assert_eq!(sorted_tags(&editor), EDITOR_TAGS);

    let model = ph.flag("experiment_ai_model");
    assert_eq!(model["active"], json!(false));
    assert_eq!(model["name"], json!("Which model writes summaries."));
    assert_eq!(
        model["filters"]["multivariate"]["variants"],
        json!([
            {"key": "control", "rollout_percentage": 50},
            {"key": "sonnet", "rollout_percentage": 30},
            {"key": "gpt", "rollout_percentage": 20}
        ])
    );
    assert_eq!(
        model["filters"]["groups"][0]["rollout_percentage"],
        json!(0)
    );
    assert_eq!(
        model["filters"]["payloads"]["sonnet"],
        json!(r#"{"max_tokens":1024}"#),
        "payloads are JSON-encoded strings, as PostHog stores them"
    );
    assert_eq!(
        sorted_tags(&model),
        ["ai", "lifecycle:experiment", "owner:@ml"]
    );
    assert!(
        ph.flags()
            .iter()
            .all(|f| f["key"] != json!("release_billing_legacy")),
        "a flag archived in the yaml is not created"
    );
}

#[test]
fn a_second_run_writes_nothing() {
    let ph = Posthog::start();
    assert_eq!(ph.flagsync_with(REGISTRY, &["sync"]).status.code(), Some(0));
    ph.emu.clear_log();
    let out = ph.flagsync_with(REGISTRY, &["sync"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(ph.writes(), 0);
    assert!(stderr(&out).contains("3 in line"), "{}", stderr(&out));
    let out = ph.flagsync_with(REGISTRY, &["sync", "--dry-run"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "in line: a dry run has nothing to do"
    );
    assert_eq!(ph.writes(), 0);
}

#[test]
fn capitalised_tags_and_trailing_spaces_compare_as_posthog_stores_them() {
    let ph = Posthog::start();
    // PostHog holds what an earlier sync wrote; one description has a trailing space in
    // PostHog (written before DRF trimmed, or by hand), the yaml has one in another.
    let mut editor = synced_editor();
    editor["name"] = json!("The new editor. ");
    ph.seed(json!({"flags": [
        editor,
        {"key": "experiment_ai_model", "name": "Which model writes summaries.", "active": true,
         "filters": {"groups": [{"properties": [], "rollout_percentage": 100}],
                     "multivariate": {"variants": [
                         {"key": "control", "rollout_percentage": 50},
                         {"key": "sonnet", "rollout_percentage": 30},
                         {"key": "gpt", "rollout_percentage": 20}]}},
         "tags": ["AI", "Owner:@ML", "lifecycle:experiment"]},
        {"key": "release_billing_checkout", "name": "The new checkout.", "active": true,
         "tags": ["owner:@billing", "lifecycle:release"]}
    ]}));
    let out = ph.flagsync_with(REGISTRY, &["sync"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(ph.writes(), 0, "{}", stderr(&out));
}

#[test]
fn an_archived_flag_holding_a_key_is_a_finding_and_the_rest_is_created() {
    let ph = Posthog::start();
    ph.seed(
        json!({"flags": [{"key": "experiment_ai_model", "name": "Old", "archived": true,
                              "active": false}]}),
    );
    let out = ph.flagsync_with(REGISTRY, &["sync", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json_out(&out);
    assert_eq!(
        kinds(&report),
        [("archived_key".to_owned(), "experiment_ai_model".to_owned())]
    );
    assert_eq!(report["findings"][0]["owner"], json!("@ml"));
    assert_eq!(ph.count(CREATE), 2, "no create is tried for the held key");
    ph.flag("release_studio_editor");
    ph.flag("release_billing_checkout");
    assert_eq!(
        ph.flag("experiment_ai_model")["archived"],
        json!(true),
        "left alone"
    );

    ph.emu.clear_log();
    let out = ph.flagsync_with(REGISTRY, &["sync", "--fail-on", "drift"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "--fail-on drift: {}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("warning[archived_key]: experiment_ai_model"));
    assert_eq!(ph.writes(), 0, "the rerun writes nothing");
}

#[test]
fn a_key_reserved_by_a_soft_deleted_flag_is_a_finding_and_the_rest_is_created() {
    let ph = Posthog::start();
    ph.seed(json!({
        "flags": [{"key": "release_billing_checkout", "name": "gone", "deleted": true}],
        "experiments": [{"name": "checkout test", "feature_flag_key": "release_billing_checkout"}]
    }));
    let out = ph.flagsync_with(REGISTRY, &["sync", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json_out(&out);
    assert_eq!(
        kinds(&report),
        [(
            "reserved_key".to_owned(),
            "release_billing_checkout".to_owned()
        )]
    );
    assert_eq!(report["applied"]["failures"], json!([]));
    assert_eq!(
        report["applied"]["created"].as_array().map(Vec::len),
        Some(2)
    );
}

#[test]
fn a_failed_write_is_reported_and_the_rest_goes_on() {
    let ph = Posthog::start();
    ph.emu.set_knobs(Knobs {
        faults: Some(Faults {
            kind: FaultKind::Status500,
            every: Some(1),
            probability: None,
            seed: 0,
            matching: Some("\"key\":\"experiment_ai_model\"".into()),
        }),
        ..Knobs::default()
    });
    let out = ph.flagsync_with(REGISTRY, &["sync"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("error[create]: experiment_ai_model"), "{err}");
    assert!(err.contains("1 writes failed"), "{err}");
    ph.flag("release_studio_editor");
    ph.flag("release_billing_checkout");
    assert!(
        ph.flags()
            .iter()
            .all(|f| f["key"] != json!("experiment_ai_model"))
    );

    // Once PostHog recovers, the next run creates what is missing and nothing else.
    ph.emu.set_knobs(Knobs::default());
    ph.emu.clear_log();
    let out = ph.flagsync_with(REGISTRY, &["sync"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!((ph.count(CREATE), ph.writes()), (1, 1));
}

#[test]
fn descriptions_are_replaced_and_tags_added_without_touching_rollout() {
    let ph = Posthog::start();
    let rollout = json!({"groups": [{"properties": [{"key": "email", "type": "person",
        "operator": "icontains", "value": "@acme.io"}], "rollout_percentage": 40}]});
    ph.seed(json!({"flags": [{
        "key": "release_studio_editor", "name": "Editor v1", "active": true,
        "filters": rollout, "tags": ["keep-me", "studio"]
    }]}));
    let before = ph.flag("release_studio_editor");
    let out = ph.flagsync_with(REGISTRY, &["sync"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let after = ph.flag("release_studio_editor");
    assert_eq!(after["name"], json!("The new editor."));
    assert_eq!(after["active"], json!(true), "active untouched");
    assert_eq!(
        after["filters"], before["filters"],
        "conditions and rollout untouched"
    );
    let mut want: Vec<&str> = EDITOR_TAGS.to_vec();
    want.push("keep-me");
    want.sort_unstable();
    assert_eq!(sorted_tags(&after), want, "tags only added");
    assert_eq!(ph.count(PATCH), 1, "one PATCH, for the description");
    assert_eq!(ph.count(BULK_TAGS), 1, "tags added atomically, one request");
    let activity = &ph.emu.dump()["activity"];
    let changed: Vec<String> = activity
        .as_array()
        .expect("activity")
        .iter()
        .filter(|a| a["key"] == json!("release_studio_editor"))
        .flat_map(|a| a["changes"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["field"].as_str().map(str::to_owned))
        .collect();
    let changed = |field: &str| changed.iter().any(|f| f == field);
    assert!(
        !changed("filters") && !changed("active"),
        "activity shows no rollout change"
    );
    assert!(changed("tags") && changed("name"));
}

#[test]
fn orphans_and_naming_violations_are_reported_with_naming_exempt_honoured() {
    let ph = Posthog::start();
    ph.seed(json!({"flags": [
        synced_editor(),
        {"key": "release_studio_unlisted", "name": "well named, not in the yaml"},
        {"key": "Legacy-Beta", "name": "misnamed", "tags": ["owner:@Dana"]},
        {"key": "OldButExempt", "name": "exempt", "tags": ["Naming-Exempt"]},
        {"key": "Archived Junk", "name": "archived", "archived": true, "active": false}
    ]}));
    let out = ph.flagsync_with(REGISTRY, &["sync", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json_out(&out);
    let mut found = kinds(&report);
    found.sort();
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(
        found,
        pairs(&[
            ("naming", "Legacy-Beta"),
            ("orphan", "Legacy-Beta"),
            ("orphan", "OldButExempt"),
            ("orphan", "release_studio_unlisted"),
        ])
    );
    let legacy = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["key"] == json!("Legacy-Beta"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        legacy["owner"],
        json!("@dana"),
        "owner read from the owner: tag"
    );
    assert_eq!(
        ph.flagsync_with(REGISTRY, &["sync", "--fail-on", "orphans"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        ph.flagsync_with(REGISTRY, &["sync", "--fail-on", "naming,drift"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        ph.flagsync_with(REGISTRY, &["sync", "--fail-on", "drift"])
            .status
            .code(),
        Some(0)
    );
    assert!(ph.flags().len() >= 5, "never deletes");
}

#[test]
fn variant_drift_is_reported_and_never_fixed() {
    let ph = Posthog::start();
    let drifted = json!({"groups": [{"properties": [], "rollout_percentage": 100}],
        "multivariate": {"variants": [{"key": "control", "rollout_percentage": 50},
                                      {"key": "sonnet", "rollout_percentage": 50}]}});
    ph.seed(json!({"flags": [{
        "key": "experiment_ai_model", "name": "Which model writes summaries.", "active": true,
        "filters": drifted, "tags": ["ai", "owner:@ml", "lifecycle:experiment"]
    }]}));
    let out = ph.flagsync_with(REGISTRY, &["sync", "--dry-run", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "drift found by a dry run");
    let report = json_out(&out);
    assert!(kinds(&report).contains(&("variant_drift".into(), "experiment_ai_model".into())));
    let finding = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["kind"] == json!("variant_drift"))
        .cloned()
        .unwrap_or_default();
    assert!(
        finding["message"]
            .as_str()
            .unwrap_or_default()
            .contains("control 50%, sonnet 30%, gpt 20%"),
        "{finding}"
    );
    let out = ph.flagsync_with(REGISTRY, &["sync"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        ph.flag("experiment_ai_model")["filters"],
        drifted,
        "never fixed"
    );
    assert_eq!(ph.count(PATCH), 0);
}

#[test]
fn github_annotations_point_at_the_yaml() {
    let ph = Posthog::start();
    ph.seed(
        json!({"flags": [{"key": "release_billing_checkout", "name": "x", "archived": true,
                              "active": false}]}),
    );
    let out = ph.flagsync_with(REGISTRY, &["sync", "--dry-run", "--format", "github"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.lines().any(|l| l.starts_with("::warning file=")
            && l.contains(",line=22,title=flags archived_key::release_billing_checkout: ")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("::notice file=")
            && l.contains(",line=5,title=flags sync plan::would create release_studio_editor")),
        "{text}"
    );
}

#[test]
fn tool_failures_exit_1_without_printing_the_key() {
    let ph = Posthog::start();
    let canary = "phx_canary_secret_value_1234";
    let path = format!("{}/sync-canary.yaml", env!("CARGO_TARGET_TMPDIR"));
    std::fs::write(&path, REGISTRY).expect("write");
    let out = ph
        .flagsync()
        .args(["sync", "--file", &path])
        .env("POSTHOG_PERSONAL_API_KEY", canary)
        .output()
        .expect("run flagsync");
    assert_eq!(out.status.code(), Some(1));
    let all = format!("{}{}", stderr(&out), String::from_utf8_lossy(&out.stdout));
    assert!(all.contains("401"), "{all}");
    assert!(!all.contains(canary), "the key is never printed");

    let out = ph
        .flagsync()
        .args(["sync", "--file", &path])
        .env_remove("POSTHOG_PROJECT_ID")
        .env_remove("POSTHOG_PERSONAL_API_KEY")
        .output()
        .expect("run flagsync");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("POSTHOG_"), "{}", stderr(&out));
}

#[test]
fn stale_metadata_tags_are_reported_not_removed() {
    let ph = Posthog::start();
    let mut editor = synced_editor();
    editor["tags"]
        .as_array_mut()
        .expect("tags")
        .push(json!("owner:@previous"));
    ph.seed(json!({"flags": [editor]}));
    let out = ph.flagsync_with(REGISTRY, &["sync", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json_out(&out);
    assert!(
        kinds(&report).contains(&("metadata_drift".into(), "release_studio_editor".into())),
        "{report}"
    );
    assert_eq!(ph.count(BULK_TAGS), 0, "nothing to add");
    assert!(sorted_tags(&ph.flag("release_studio_editor")).contains(&"owner:@previous".into()));
}
