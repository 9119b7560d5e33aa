//! `flagsync demo` end to end: the real binary runs every step against its in-process emulator,
//! and the key outcome of each step shows in its output.

use std::process::Command;
use std::sync::OnceLock;

/// The demo's exit code and its output (everything goes to stderr), run once for every test.
fn demo() -> &'static (Option<i32>, String) {
    static RUN: OnceLock<(Option<i32>, String)> = OnceLock::new();
    RUN.get_or_init(|| {
        let out = Command::new(env!("CARGO_BIN_EXE_flagsync"))
            .arg("demo")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("POSTHOG_PERSONAL_API_KEY")
            .env_remove("SLACK_WEBHOOK_URL")
            .output()
            .expect("run flagsync demo");
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        (out.status.code(), text)
    })
}

/// The text of step `title` (from its header to the next one).
fn step(title: &str) -> &'static str {
    let text = &demo().1;
    let start = text
        .find(&format!(" {title} ─"))
        .unwrap_or_else(|| panic!("no step {title:?} in:\n{text}"));
    let rest = &text[start..];
    let end = rest[1..].find("\n── ").map_or(rest.len(), |i| i + 1);
    &rest[..end]
}

#[test]
fn the_demo_runs_every_step_and_exits_0() {
    let (code, text) = demo();
    assert_eq!(*code, Some(0), "{text}");
    assert!(text.contains("demo done: 7 steps ran"), "{text}");
    assert!(!text.contains("error:"), "{text}");
}

#[test]
fn check_shows_the_expired_flag() {
    let check = step("check: validate the registry, offline");
    assert!(
        check.contains("flag `release_ai_inline_suggestions` expired on 2027-01-15"),
        "{check}"
    );
    assert!(check.contains("requests to PostHog: none"), "{check}");
}

#[test]
fn the_plan_lists_the_creates_and_writes_nothing() {
    let plan = step("sync, dry run: the plan");
    for key in ["ops_billing_disable_invoicing", "tier_auth_sso"] {
        assert!(
            plan.contains(&format!("would create {key} (inactive, 0%")),
            "{plan}"
        );
    }
    assert!(
        plan.contains("would describe release_studio_comments"),
        "{plan}"
    );
    assert!(
        plan.contains("would tag release_studio_new_editor"),
        "{plan}"
    );
    assert!(plan.contains("would create 2, describe 1, tag 2"), "{plan}");
    assert!(
        plan.contains("requests to PostHog: 2\n     2  GET    /api/projects/{id}/feature_flags/\n"),
        "{plan}"
    );
}

#[test]
fn sync_reports_the_archived_key_the_orphans_and_the_naming_violation() {
    let sync = step("sync: apply the plan");
    assert!(
        sync.contains(
            "warning[archived_key]: release_auth_passkeys: the key is held by archived PostHog flag"
        ),
        "{sync}"
    );
    assert!(
        sync.contains("warning[orphan]: release_studio_new_editor_v1"),
        "{sync}"
    );
    assert!(sync.contains("warning[orphan]: checkout-v2-beta"), "{sync}");
    assert!(sync.contains("warning[naming]: checkout-v2-beta"), "{sync}");
    assert!(
        sync.contains("created 2, described 1, tagged 2 (2 requests)"),
        "{sync}"
    );
    assert!(sync.contains("0 writes failed"), "{sync}");
}

#[test]
fn the_second_sync_writes_nothing() {
    let again = step("sync again: nothing left to do");
    assert!(
        again.contains("created 0, described 0, tagged 0 (0 requests)"),
        "{again}"
    );
    assert!(
        again.contains(
            "requests to PostHog: 2\n     2  GET    /api/projects/{id}/feature_flags/\nexit code 0"
        ),
        "{again}"
    );
}

#[test]
fn track_finds_releases_the_stale_and_the_expired_flag_and_marks_them() {
    let track = step("track: the lifecycle digest");
    for line in [
        "released  release_studio_comments: released to everyone",
        "released  experiment_ai_summary_model: its experiment ended on 2027-01-13",
        "stale     release_ai_inline_suggestions: released 60 days ago (2026-11-17)",
        "expired   release_ai_inline_suggestions: expired on 2027-01-15",
        "orphan    release_studio_new_editor_v1",
        "orphan    checkout-v2-beta",
        "naming    checkout-v2-beta",
        "archived_key release_auth_passkeys",
        "track: digest posted to Slack",
        "track: recorded the notices of 3 flags",
    ] {
        assert!(track.contains(line), "{line:?} missing in:\n{track}");
    }
    assert!(
        track.contains("bulk_update_tags/"),
        "marks are written in bulk:\n{track}"
    );
}

#[test]
fn the_second_track_run_costs_only_list_pages() {
    let again = step("track again: only list pages");
    assert!(
        again.contains(
            "requests to PostHog: 3\n     1  GET    /api/projects/{id}/experiments/\n     2  GET    /api/projects/{id}/feature_flags/\n"
        ),
        "{again}"
    );
    assert!(!again.contains("released  "), "{again}");
    assert!(!again.contains("stale     "), "{again}");
    assert!(
        again.contains("expired   release_ai_inline_suggestions"),
        "{again}"
    );
}

#[test]
fn guard_disables_the_regressing_enforced_flag_and_tells_slack() {
    let guard = step("guard: protect the rollouts");
    assert!(
        guard.contains("disabled          release_studio_new_editor"),
        "{guard}"
    );
    assert!(
        guard.contains("healthy           experiment_ai_summary_model"),
        "{guard}"
    );
    assert!(
        guard.contains("PostHog now: release_studio_new_editor is off (active: false)"),
        "{guard}"
    );
    assert!(
        guard.contains(
            "received 1 message(s):\n  | flagsync guard: 1 regression(s), 1 flag(s) disabled"
        ),
        "{guard}"
    );
    assert!(
        guard.contains("     1  POST   /api/projects/{id}/query/"),
        "{guard}"
    );
    assert!(guard.contains("requests to Slack: 1"), "{guard}");
}

#[test]
fn no_key_is_printed() {
    let text = &demo().1;
    assert!(!text.contains("phx_emulator"), "{text}");
    assert!(!text.contains("phc_emulator"), "{text}");
}
