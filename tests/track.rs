//! `flagsync track` end to end: the real binary against the in-process PostHog emulator over
//! HTTP, with `tests/track/registry.yaml`. Assertions are on exit codes, output, the tags PostHog
//! ends up holding, the Slack sink and the emulator's request log; never on timings.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;

use flags_runtime::emulator::{FaultKind, Faults, Knobs};
use serde_json::{Value, json};
use support::Posthog;

mod support;

const REGISTRY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/track/registry.yaml");
const TODAY: &str = "2026-11-21";

impl Posthog {
    fn seed(&self, flags: Vec<Value>, experiments: Vec<Value>) {
        self.emu
            .seed(&json!({ "flags": flags, "experiments": experiments }))
            .expect("seed");
    }

    /// Runs `flagsync track --file <fixture> <args>` with the emulator's credentials.
    fn track(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.flagsync();
        cmd.arg("track").args(["--file", REGISTRY]).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run flagsync track")
    }

    /// `track --today <day> --format json`: the exit code and the findings as (kind, key).
    fn track_json(&self, day: &str) -> (Option<i32>, Vec<(String, String)>, Value) {
        let out = self.track(&["--today", day, "--format", "json"], &[]);
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
            panic!(
                "stdout is one JSON document; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code(), kinds(&report), report)
    }

    /// Every flag's tags, by key.
    fn tags(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.emu.dump()["flags"]
            .as_array()
            .expect("flags")
            .iter()
            .map(|f| {
                let tags = f["tags"]
                    .as_array()
                    .expect("tags")
                    .iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect();
                (f["key"].as_str().unwrap_or_default().to_owned(), tags)
            })
            .collect()
    }

    /// Requests since the last call, as `"METHOD route" → count`.
    fn requests(&self) -> BTreeMap<String, u64> {
        let log = self.emu.log();
        self.emu.clear_log();
        log.counts
    }
}

/// The findings of a JSON report as (kind, key), in report order.
fn kinds(report: &Value) -> Vec<(String, String)> {
    report["owners"]
        .as_array()
        .expect("owners")
        .iter()
        .flat_map(|o| o["findings"].as_array().expect("findings").iter())
        .map(|f| {
            (
                f["kind"].as_str().unwrap_or_default().to_owned(),
                f["key"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn finding<'a>(report: &'a Value, kind: &str, key: &str) -> &'a Value {
    report["owners"]
        .as_array()
        .expect("owners")
        .iter()
        .flat_map(|o| o["findings"].as_array().expect("findings").iter())
        .find(|f| f["kind"] == kind && f["key"] == key)
        .unwrap_or_else(|| panic!("no {kind} finding for {key} in {report}"))
}

fn pair(kind: &str, key: &str) -> (String, String) {
    (kind.to_owned(), key.to_owned())
}

fn condition(rollout: u32) -> Value {
    json!({ "properties": [], "rollout_percentage": rollout })
}

fn flag(key: &str, filters: Value) -> Value {
    json!({ "key": key, "name": key, "filters": filters, "active": true })
}

fn variants(control: u32, test: u32) -> Value {
    json!({ "variants": [
        { "key": "control", "rollout_percentage": control },
        { "key": "test", "rollout_percentage": test }
    ] })
}

/// Only the list routes were called: flags (live and archived scans) and experiments.
fn only_list_pages(requests: &BTreeMap<String, u64>) {
    let expected = BTreeMap::from([
        ("GET /api/projects/{id}/experiments/".to_owned(), 1),
        ("GET /api/projects/{id}/feature_flags/".to_owned(), 2),
    ]);
    assert_eq!(*requests, expected);
}

const BULK_TAGS: &str = "POST /api/projects/{id}/feature_flags/bulk_update_tags/";

#[test]
fn released_means_effectively_full_rollout_and_is_marked_once() {
    let ph = Posthog::start();
    let email =
        json!([{ "key": "email", "type": "person", "operator": "icontains", "value": "@acme.io" }]);
    ph.seed(
        vec![
            flag(
                "release_studio_rollout",
                json!({ "groups": [condition(30), condition(100)] }),
            ),
            flag(
                "release_studio_targeted",
                json!({ "groups": [{ "properties": email, "rollout_percentage": 100 }] }),
            ),
            flag(
                "release_studio_partial",
                json!({ "groups": [condition(50)] }),
            ),
            json!({ "key": "release_studio_disabled", "active": false,
                    "filters": { "groups": [condition(100)] } }),
            flag(
                "experiment_ai_split",
                json!({ "groups": [condition(100)], "multivariate": variants(50, 50) }),
            ),
            flag(
                "experiment_ai_winner",
                json!({ "groups": [condition(100)], "multivariate": variants(0, 100) }),
            ),
        ],
        vec![],
    );

    let (code, found, report) = ph.track_json(TODAY);
    assert_eq!(code, Some(2), "{report}");
    assert_eq!(
        found,
        [
            pair("released", "release_studio_rollout"),
            pair("released", "experiment_ai_winner"),
        ]
    );
    assert_eq!(
        finding(&report, "released", "release_studio_rollout")["released_at"],
        TODAY
    );
    let tags = ph.tags();
    for key in ["release_studio_rollout", "experiment_ai_winner"] {
        assert!(tags[key].contains("released-detected-v1"), "{key}");
        assert!(tags[key].contains("released-at:2026-11-21"), "{key}");
    }
    for key in [
        "release_studio_targeted",
        "release_studio_partial",
        "release_studio_disabled",
        "experiment_ai_split",
    ] {
        assert!(tags[key].is_empty(), "{key}: {:?}", tags[key]);
    }
    // Both flags share one change, so one call marks them.
    assert_eq!(ph.requests().get(BULK_TAGS), Some(&1));

    // The next run has nothing new, writes nothing and reads only the list pages.
    let (code, found, _) = ph.track_json("2026-11-22");
    assert_eq!((code, found), (Some(0), vec![]));
    only_list_pages(&ph.requests());
}

#[test]
fn a_dry_run_reports_but_neither_posts_nor_marks() {
    let ph = Posthog::start();
    ph.seed(
        vec![flag(
            "release_studio_rollout",
            json!({ "groups": [condition(100)] }),
        )],
        vec![],
    );
    let url = ph.emu.slack_webhook_url();
    for _ in 0..2 {
        let out = ph.track(
            &["--today", TODAY, "--dry-run", "--slack-webhook", &url],
            &[],
        );
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("release_studio_rollout"));
    }
    assert!(ph.emu.slack_messages().is_empty());
    assert!(ph.tags()["release_studio_rollout"].is_empty());
    assert_eq!(ph.requests().get(BULK_TAGS), None);
}

#[test]
fn the_release_date_is_read_back_from_the_tags_at_no_cost() {
    let ph = Posthog::start();
    ph.seed(
        vec![flag(
            "release_studio_rollout",
            json!({ "groups": [condition(100)] }),
        )],
        vec![],
    );
    let (code, _, _) = ph.track_json("2026-10-01");
    assert_eq!(code, Some(2));
    ph.requests();

    // 45 days later (the release lifetime is 40): stale, dated from the tag written on 10-01.
    let (code, found, report) = ph.track_json("2026-11-15");
    assert_eq!(code, Some(2), "{report}");
    assert_eq!(found, [pair("stale", "release_studio_rollout")]);
    let stale = finding(&report, "stale", "release_studio_rollout");
    assert_eq!(stale["released_at"], "2026-10-01");
    assert_eq!(stale["days"], 45);
    assert_eq!(stale["lifetime_days"], 40);
    let mut requests = ph.requests();
    assert_eq!(
        requests.remove(BULK_TAGS),
        Some(1),
        "the stale notice is recorded"
    );
    only_list_pages(&requests);
}

#[test]
fn an_ended_experiment_releases_its_flag_on_its_end_date() {
    let ph = Posthog::start();
    let split = json!({ "groups": [condition(100)], "multivariate": variants(50, 50) });
    ph.seed(
        vec![
            flag("experiment_ai_ended", split.clone()),
            flag("experiment_ai_running", split),
        ],
        vec![
            json!({ "name": "ended", "feature_flag_key": "experiment_ai_ended",
                    "start_date": "2026-10-01T09:00:00Z", "end_date": "2026-11-10T17:30:00Z" }),
            json!({ "name": "running", "feature_flag_key": "experiment_ai_running",
                    "start_date": "2026-10-01T09:00:00Z" }),
            // Archived experiments are hidden from the list, and so ignored.
            json!({ "name": "old", "feature_flag_key": "experiment_ai_running", "archived": true,
                    "start_date": "2026-01-01T09:00:00Z", "end_date": "2026-02-01T09:00:00Z" }),
        ],
    );
    let (code, found, report) = ph.track_json(TODAY);
    assert_eq!(code, Some(2));
    assert_eq!(found, [pair("released", "experiment_ai_ended")]);
    let released = finding(&report, "released", "experiment_ai_ended");
    assert_eq!(released["released_by"], "experiment");
    assert_eq!(released["released_at"], "2026-11-10");
    assert!(ph.tags()["experiment_ai_ended"].contains("released-at:2026-11-10"));

    // The experiment lifetime is 30 days: stale from 2026-12-10 on.
    let (_, found, _) = ph.track_json("2026-12-09");
    assert!(found.is_empty(), "{found:?}");
    let (_, found, _) = ph.track_json("2026-12-10");
    assert_eq!(found, [pair("stale", "experiment_ai_ended")]);
}

#[test]
fn stale_after_the_lifetime_then_once_a_month() {
    let ph = Posthog::start();
    let marked = |key: &str| {
        json!({ "key": key, "active": true, "filters": { "groups": [condition(100)] },
                "tags": ["released-detected-v1", "released-at:2026-10-01"] })
    };
    ph.seed(
        vec![
            marked("release_billing_invoices"),
            marked("ops_auth_killswitch"),
        ],
        vec![],
    );
    // 35 days after release: within the 40-day lifetime.
    let (code, found, _) = ph.track_json("2026-11-05");
    assert_eq!((code, found), (Some(0), vec![]));
    // 45 days: stale (the ops kill switch never is).
    let (code, found, _) = ph.track_json("2026-11-15");
    assert_eq!(code, Some(2));
    assert_eq!(found, [pair("stale", "release_billing_invoices")]);
    assert!(ph.tags()["release_billing_invoices"].contains("stale-notified:2026-11"));
    // Told this month already.
    let (code, found, _) = ph.track_json("2026-11-30");
    assert_eq!((code, found), (Some(0), vec![]));
    // A new month: told again, and the tag moves on.
    let (code, found, _) = ph.track_json("2026-12-01");
    assert_eq!(code, Some(2));
    assert_eq!(found, [pair("stale", "release_billing_invoices")]);
    let tags = &ph.tags()["release_billing_invoices"];
    assert!(tags.contains("stale-notified:2026-12"), "{tags:?}");
    assert!(!tags.contains("stale-notified:2026-11"), "{tags:?}");
    assert!(tags.contains("released-at:2026-10-01"), "{tags:?}");
}

#[test]
fn expired_flags_name_their_owner_and_backup_owner() {
    let ph = Posthog::start();
    let (code, found, _) = ph.track_json("2027-01-10");
    assert_eq!(
        (code, found),
        (Some(0), vec![]),
        "expires at the end of its day"
    );
    let (code, found, report) = ph.track_json("2027-01-12");
    assert_eq!(code, Some(2));
    assert_eq!(found, [pair("expired", "release_auth_legacy_login")]);
    let expired = finding(&report, "expired", "release_auth_legacy_login");
    assert_eq!(expired["owner"], "@auth");
    assert_eq!(expired["backup_owner"], "@sec");
    assert_eq!(expired["expires"], "2027-01-10");
    assert_eq!(expired["days"], 2);

    let out = ph.track(&["--today", "2027-01-12"], &[]);
    let human = String::from_utf8_lossy(&out.stderr);
    assert!(human.contains("@auth\n"), "{human}");
    assert!(human.contains("backup owner @sec"), "{human}");
    // Nothing to record for expiry: no write.
    assert_eq!(ph.requests().get(BULK_TAGS), None);
}

#[test]
fn orphans_naming_and_archived_keys_are_reported_as_sync_reports_them() {
    let ph = Posthog::start();
    ph.seed(
        vec![
            flag(
                "release_studio_partial",
                json!({ "groups": [condition(50)] }),
            ),
            flag("release_ai_forgotten", json!({ "groups": [condition(0)] })),
            flag("Checkout-Redesign", json!({ "groups": [condition(0)] })),
            json!({ "key": "legacy-exempt-flag", "tags": ["naming-exempt", "owner:@ops"],
                    "filters": { "groups": [condition(0)] } }),
            json!({ "key": "archived_orphan", "archived": true, "active": false,
                    "filters": { "groups": [condition(0)] } }),
            // A registry key held by an archived PostHog flag.
            json!({ "key": "release_studio_targeted", "archived": true, "active": false,
                    "filters": { "groups": [condition(100)] } }),
        ],
        vec![],
    );
    let (code, found, report) = ph.track_json(TODAY);
    assert_eq!(code, Some(2));
    assert_eq!(
        found,
        [
            pair("archived_key", "release_studio_targeted"),
            pair("orphan", "legacy-exempt-flag"),
            pair("orphan", "Checkout-Redesign"),
            pair("orphan", "release_ai_forgotten"),
            pair("naming", "Checkout-Redesign"),
        ]
    );
    let owners: Vec<&Value> = report["owners"]
        .as_array()
        .expect("owners")
        .iter()
        .map(|o| &o["owner"])
        .collect();
    assert_eq!(owners, [&json!("@ana"), &json!("@ops"), &Value::Null]);
    assert!(
        finding(&report, "naming", "Checkout-Redesign")["message"]
            .as_str()
            .is_some_and(|m| m.contains("naming-exempt"))
    );
    // Reporting writes nothing.
    assert_eq!(ph.requests().get(BULK_TAGS), None);
}

#[test]
fn the_digest_is_posted_to_slack_as_block_kit() {
    let ph = Posthog::start();
    ph.seed(
        vec![
            flag(
                "release_studio_rollout",
                json!({ "groups": [condition(100)] }),
            ),
            flag("release_ai_forgotten", json!({ "groups": [condition(0)] })),
        ],
        vec![],
    );
    let url = ph.emu.slack_webhook_url();
    let out = ph.track(&["--today", TODAY, "--slack-webhook", &url], &[]);
    assert_eq!(out.status.code(), Some(2));
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !printed.contains("/hooks/slack/"),
        "the URL is a secret: {printed}"
    );

    let messages = ph.emu.slack_messages();
    assert_eq!(messages.len(), 1);
    let blocks = messages[0]["blocks"].as_array().expect("blocks");
    assert_eq!(blocks[0]["type"], "header");
    let sections: Vec<&str> = blocks
        .iter()
        .filter(|b| b["type"] == "section")
        .filter_map(|b| b["text"]["text"].as_str())
        .collect();
    assert_eq!(sections.len(), 2, "one section per owner: {sections:?}");
    assert!(sections[0].starts_with("*@ana*"), "{}", sections[0]);
    assert!(sections[0].contains("`release_studio_rollout`"));
    assert!(sections[1].contains("`release_ai_forgotten`"));
    assert!(messages[0]["text"].as_str().is_some_and(|t| !t.is_empty()));

    // SLACK_WEBHOOK_URL works too; with nothing new (the orphan stays) it posts the rest.
    let out = ph.track(&["--today", TODAY], &[("SLACK_WEBHOOK_URL", &url)]);
    assert_eq!(out.status.code(), Some(2));
    let messages = ph.emu.slack_messages();
    assert_eq!(messages.len(), 2);
    let second = messages[1].to_string();
    assert!(second.contains("release_ai_forgotten") && !second.contains("release_studio_rollout"));
}

#[test]
fn a_failed_slack_post_fails_the_run_marks_nothing_and_the_next_run_reports_again() {
    let ph = Posthog::start();
    ph.seed(
        vec![
            flag(
                "release_studio_rollout",
                json!({ "groups": [condition(100)] }),
            ),
            json!({ "key": "release_billing_invoices", "active": true,
                    "filters": { "groups": [condition(100)] },
                    "tags": ["released-detected-v1", "released-at:2026-10-01"] }),
        ],
        vec![],
    );
    let url = ph.emu.slack_webhook_url();
    ph.emu.set_knobs(Knobs {
        slack_status: Some(500),
        ..Knobs::default()
    });
    let out = ph.track(&["--today", TODAY, "--slack-webhook", &url], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Slack"), "{stderr}");
    assert!(!stderr.contains("/hooks/slack/"), "{stderr}");
    assert_eq!(ph.requests().get(BULK_TAGS), None, "nothing marked");
    assert!(ph.tags()["release_studio_rollout"].is_empty());

    // Slack is back: the same findings again, then marked.
    ph.emu.set_knobs(Knobs::default());
    let out = ph.track(
        &[
            "--today",
            TODAY,
            "--slack-webhook",
            &url,
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        kinds(&report),
        [
            pair("released", "release_studio_rollout"),
            pair("stale", "release_billing_invoices"),
        ]
    );
    assert_eq!(ph.emu.slack_messages().len(), 1);
    assert!(ph.tags()["release_studio_rollout"].contains("released-detected-v1"));
    assert!(ph.tags()["release_billing_invoices"].contains("stale-notified:2026-11"));
}

#[test]
fn a_mark_that_cannot_be_written_fails_the_run_and_the_notice_comes_again() {
    let ph = Posthog::start();
    ph.seed(
        vec![flag(
            "release_studio_rollout",
            json!({ "groups": [condition(100)] }),
        )],
        vec![],
    );
    // Every tag write fails (after the client's retries); the notice has gone out already.
    ph.emu.set_knobs(Knobs {
        faults: Some(Faults {
            kind: FaultKind::Status500,
            every: Some(1),
            probability: None,
            seed: 0,
            matching: Some("bulk_update_tags".into()),
        }),
        ..Knobs::default()
    });
    let url = ph.emu.slack_webhook_url();
    let out = ph.track(&["--today", TODAY, "--slack-webhook", &url], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("could not mark release_studio_rollout"),
        "{stderr}"
    );
    assert_eq!(ph.emu.slack_messages().len(), 1);
    assert!(ph.tags()["release_studio_rollout"].is_empty());

    // Next run: told again (twice is better than never), and marked this time.
    ph.emu.set_knobs(Knobs::default());
    let out = ph.track(&["--today", TODAY, "--slack-webhook", &url], &[]);
    assert_eq!(out.status.code(), Some(2));
    let messages = ph.emu.slack_messages();
    assert_eq!(messages.len(), 2);
    assert!(messages[1].to_string().contains("release_studio_rollout"));
    assert!(ph.tags()["release_studio_rollout"].contains("released-detected-v1"));
}

#[test]
fn markdown_and_the_github_job_summary() {
    let ph = Posthog::start();
    ph.seed(
        vec![flag(
            "release_ai_forgotten",
            json!({ "groups": [condition(0)] }),
        )],
        vec![],
    );
    let out = ph.track(&["--today", TODAY, "--format", "markdown"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let markdown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        markdown.starts_with("## Feature flags: 1 finding on 2026-11-21"),
        "{markdown}"
    );
    assert!(
        markdown.contains("- **orphan** `release_ai_forgotten`"),
        "{markdown}"
    );

    let summary = std::env::temp_dir().join(format!("flagsync-track-{}.md", std::process::id()));
    std::fs::write(&summary, "earlier step\n").expect("write");
    let path = summary.to_string_lossy().into_owned();
    let out = ph.track(
        &["--today", TODAY, "--format", "github"],
        &[("GITHUB_STEP_SUMMARY", &path)],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let written = std::fs::read_to_string(&summary).expect("read");
    let _ = std::fs::remove_file(&summary);
    assert_eq!(written, format!("earlier step\n{markdown}\n"));
}
