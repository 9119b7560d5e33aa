//! Conformance of the emulator with posthog-api.md §10, point by point, over raw HTTP.

use flags_runtime::emulator::{ApiKey, Emulator, FaultKind, Faults, Knobs, RateLimits, Window};
use serde_json::{Value, json};

use crate::support::{call, call_full, call_with, p, seed_flag};

async fn create(emu: &Emulator, body: Value) -> (u16, Value) {
    call(emu, "POST", &p("feature_flags/"), Some(body)).await
}

fn keys(list: &Value) -> Vec<String> {
    list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap().to_owned())
        .collect()
}

// §10.1 — auth and scopes.
#[tokio::test]
async fn auth_is_bearer_with_scopes() {
    let emu = Emulator::start().await.unwrap();
    let (s, b) = call_with(&emu, "GET", &p("feature_flags/"), None, None).await;
    assert_eq!(s, 401);
    assert_eq!(
        b,
        json!({"type": "authentication_error", "code": "not_authenticated", "detail": "Authentication credentials were not provided.", "attr": null})
    );
    let (s, b) = call_with(&emu, "GET", &p("feature_flags/"), None, Some("phx_wrong")).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (401, Some("authentication_failed"))
    );
    // The key may also come in the query string or the body.
    let (s, _) = call_with(
        &emu,
        "GET",
        &format!(
            "{}?personal_api_key={}",
            p("feature_flags/"),
            emu.personal_api_key()
        ),
        None,
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = call_with(&emu, "POST", &p("feature_flags/"), Some(json!({"personal_api_key": emu.personal_api_key(), "key": "k", "filters": {"groups": [{"rollout_percentage": 0}]}})), None).await;
    assert_eq!(s, 201);

    emu.add_key(ApiKey {
        key: "phx_read".into(),
        scopes: vec!["feature_flag:read".into()],
    });
    let (s, _) = call_with(&emu, "GET", &p("feature_flags/"), None, Some("phx_read")).await;
    assert_eq!(s, 200);
    let (s, b) = call_with(
        &emu,
        "POST",
        &p("feature_flags/"),
        Some(json!({"key": "x"})),
        Some("phx_read"),
    )
    .await;
    assert_eq!(
        (s, b["detail"].as_str()),
        (
            403,
            Some("API key missing required scope 'feature_flag:write'")
        )
    );
    let (s, b) = call_with(
        &emu,
        "GET",
        &p("feature_flags/1/activity/"),
        None,
        Some("phx_read"),
    )
    .await;
    assert_eq!(
        (s, b["detail"].as_str()),
        (
            403,
            Some("API key missing required scope 'activity_log:read'")
        )
    );
    // A write scope implies read.
    emu.add_key(ApiKey {
        key: "phx_write".into(),
        scopes: vec!["feature_flag:write".into()],
    });
    assert_eq!(
        call_with(&emu, "GET", &p("feature_flags/"), None, Some("phx_write"))
            .await
            .0,
        200
    );
    // feature_flags lives only under /api/projects/.
    assert_eq!(
        call(&emu, "GET", "/api/environments/1/feature_flags/", None)
            .await
            .0,
        404
    );
    assert_eq!(
        call(&emu, "GET", "/api/projects/2/feature_flags/", None)
            .await
            .0,
        404
    );
}

// §10.2 — the list.
#[tokio::test]
async fn list_order_visibility_pagination_and_filters() {
    let emu = Emulator::start().await.unwrap();
    emu.seed(&json!({ "flags": [
        {"key": "old", "tags": ["guardian"], "created_at": "2026-01-01T00:00:00Z"},
        {"key": "mid_archived", "tags": ["guardian"], "archived": true, "active": false, "created_at": "2026-01-02T00:00:00Z"},
        {"key": "mid_deleted", "tags": ["guardian"], "deleted": true, "created_at": "2026-01-03T00:00:00Z"},
        {"key": "new_guardians", "tags": ["guardians"], "active": false, "created_at": "2026-01-04T00:00:00Z"},
        {"key": "Studio-Editor", "name": "The new studio editor", "created_at": "2026-01-05T00:00:00Z",
         "filters": {"groups": [], "multivariate": {"variants": [{"key": "control", "rollout_percentage": 50}, {"key": "test", "rollout_percentage": 50}]}}},
    ]}))
    .unwrap();
    let list = |q: &str| {
        let path = format!("{}{}", p("feature_flags/"), q);
        let emu = &emu;
        async move { call(emu, "GET", &path, None).await.1 }
    };
    let all = list("").await;
    assert_eq!(
        keys(&all),
        vec!["Studio-Editor", "new_guardians", "old"],
        "newest first, deleted and archived hidden"
    );
    assert_eq!(all["count"], json!(3));
    assert_eq!(keys(&list("?archived=true").await), vec!["mid_archived"]);
    assert_eq!(keys(&list("?archived=false").await).len(), 3);
    // tags: a JSON list with exact match; a plain string is ignored.
    assert_eq!(keys(&list("?tags=%5B%22guardian%22%5D").await), vec!["old"]);
    assert_eq!(
        keys(&list("?tags=%5B%22guardian%22%2C%22guardians%22%5D").await),
        vec!["new_guardians", "old"]
    );
    assert_eq!(
        keys(&list("?tags=guardian").await).len(),
        3,
        "plain string: no tag filter at all"
    );
    assert_eq!(
        keys(&list("?search=studio%20editor").await),
        vec!["Studio-Editor"]
    );
    assert_eq!(
        keys(&list("?search=NEW%20STUDIO").await),
        vec!["Studio-Editor"],
        "search matches the description too"
    );
    assert_eq!(keys(&list("?active=false").await), vec!["new_guardians"]);
    assert_eq!(
        keys(&list("?key=studio-editor").await),
        vec!["Studio-Editor"]
    );
    assert_eq!(
        keys(&list("?type=multivariant").await),
        vec!["Studio-Editor"]
    );
    assert_eq!(
        keys(&list("?type=boolean").await),
        vec!["new_guardians", "old"]
    );
    let long = "x".repeat(201);
    assert_eq!(
        call(
            &emu,
            "GET",
            &format!("{}?search={long}", p("feature_flags/")),
            None
        )
        .await
        .0,
        400
    );

    // limit/offset/count/next: next is absolute and keeps the other parameters.
    let page = list("?limit=1&active=true").await;
    assert_eq!(page["count"], json!(2));
    let next = page["next"].as_str().unwrap();
    assert!(next.starts_with(&emu.base_url()), "{next}");
    assert!(
        next.contains("active=true") && next.contains("offset=1") && next.contains("limit=1"),
        "{next}"
    );
    let (_, second) = call(&emu, "GET", next, None).await;
    assert_eq!(keys(&second), vec!["old"]);
    assert_eq!(second["next"], Value::Null);
    assert!(second["previous"].is_string());
}

// §10.3 — create.
#[tokio::test]
async fn create_validates_like_posthog() {
    let emu = Emulator::start().await.unwrap();
    let groups = json!({"groups": [{"properties": [], "rollout_percentage": 0}]});
    let (s, b) = create(&emu, json!({"key": "has space", "filters": groups})).await;
    assert_eq!(
        (s, b["code"].as_str(), b["attr"].as_str()),
        (400, Some("invalid_key"), Some("key"))
    );
    let (s, b) = create(&emu, json!({"key": "k".repeat(401), "filters": groups})).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("max_length")));
    let (s, _) = create(&emu, json!({"key": "K-_9".repeat(100), "filters": groups})).await;
    assert_eq!(
        s, 201,
        "400 characters of letters, digits, - and _ are fine"
    );
    let (s, b) = create(&emu, json!({"key": "no_key_field"})).await;
    assert_eq!(
        (s, b["detail"].as_str()),
        (201, None),
        "filters omitted: default {{groups: []}}"
    );
    assert_eq!(b["filters"], json!({"groups": []}));
    let (s, b) = create(
        &emu,
        json!({"key": "empty_groups", "filters": {"groups": []}}),
    )
    .await;
    assert_eq!(
        (s, b["detail"].as_str()),
        (
            400,
            Some("Feature flags must have at least one condition set (group).")
        )
    );

    let (s, b) = create(
        &emu,
        json!({"key": "flag", "filters": groups, "tags": [" Guardian ", "guardian", "STUDIO", ""]}),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(b["active"], json!(true), "active defaults to true");
    assert_eq!(b["version"], json!(1));
    let mut tags: Vec<String> = serde_json::from_value(b["tags"].clone()).unwrap();
    tags.sort();
    assert_eq!(tags, vec!["guardian", "studio"]);
    let id = b["id"].as_i64().unwrap();

    let (s, b) = create(&emu, json!({"key": "flag", "filters": groups})).await;
    assert_eq!(s, 400);
    assert_eq!(
        b,
        json!({"type": "validation_error", "code": "unique", "detail": "There is already a feature flag with this key.", "attr": "key"})
    );
    // Archived flags still hold their key; soft-deleted ones do not.
    call(
        &emu,
        "PATCH",
        &p(&format!("feature_flags/{id}/")),
        Some(json!({"archived": true, "active": false})),
    )
    .await;
    assert_eq!(
        create(&emu, json!({"key": "flag", "filters": groups}))
            .await
            .0,
        400
    );
    call(
        &emu,
        "PATCH",
        &p(&format!("feature_flags/{id}/")),
        Some(json!({"deleted": true})),
    )
    .await;
    assert_eq!(
        create(&emu, json!({"key": "flag", "filters": groups}))
            .await
            .0,
        201
    );
}

// A soft-deleted flag that a live experiment references still reserves its key (PostHog's
// `_free_key_held_by_soft_deleted_flags`); DRF trims `name`.
#[tokio::test]
async fn soft_deleted_keys_referenced_by_experiments_stay_reserved() {
    let emu = Emulator::start().await.unwrap();
    let groups = json!({"groups": [{"properties": [], "rollout_percentage": 0}]});
    let mut held = seed_flag("held_by_experiment");
    held["deleted"] = json!(true);
    let mut freed = seed_flag("freed_key");
    freed["deleted"] = json!(true);
    emu.seed(&json!({
        "flags": [held, freed],
        "experiments": [
            {"name": "old test", "feature_flag_key": "held_by_experiment"},
            {"name": "gone", "feature_flag_key": "freed_key", "deleted": true}
        ]
    }))
    .unwrap();
    let (s, b) = create(
        &emu,
        json!({"key": "held_by_experiment", "filters": groups}),
    )
    .await;
    assert_eq!((s, b["type"].as_str()), (400, Some("validation_error")));
    assert!(
        b["detail"]
            .as_str()
            .unwrap()
            .starts_with("Cannot reuse key 'held_by_experiment': a soft-deleted flag"),
        "{b}"
    );
    let (s, b) = create(
        &emu,
        json!({"key": "freed_key", "name": "  Trimmed. \n", "filters": groups}),
    )
    .await;
    assert_eq!((s, b["name"].as_str()), (201, Some("Trimmed.")));
    let id = b["id"].as_i64().unwrap();
    let (_, b) = call(
        &emu,
        "PATCH",
        &p(&format!("feature_flags/{id}/")),
        Some(json!({"name": "Again "})),
    )
    .await;
    assert_eq!(b["name"], json!("Again"));
}

// §10.4 — PATCH, soft delete, DELETE.
#[tokio::test]
async fn patch_is_partial_and_delete_is_refused() {
    let emu = Emulator::start().await.unwrap();
    let (_, f) = create(&emu, json!({"key": "f", "name": "d", "tags": ["a", "b"], "filters": {"groups": [{"properties": [], "rollout_percentage": 10}], "payloads": {"true": "1"}}})).await;
    let path = p(&format!("feature_flags/{}/", f["id"]));
    let (s, u) = call(&emu, "PATCH", &path, Some(json!({"name": "new"}))).await;
    assert_eq!(s, 200);
    assert_eq!(
        (u["name"].as_str(), u["version"].as_i64()),
        (Some("new"), Some(2))
    );
    assert_eq!(
        (u["active"].clone(), u["filters"].clone()),
        (f["active"].clone(), f["filters"].clone())
    );
    assert!(u["updated_at"].as_str() > f["updated_at"].as_str());
    // Tags are replaced as a set; filters merge top-level keys.
    let (_, u) = call(&emu, "PATCH", &path, Some(json!({"tags": ["C"], "filters": {"groups": [{"properties": [], "rollout_percentage": 50}]}}))).await;
    assert_eq!(u["tags"], json!(["c"]));
    assert_eq!(u["filters"]["payloads"], json!({"true": "1"}));
    assert_eq!(u["filters"]["groups"][0]["rollout_percentage"], json!(50));
    assert_eq!(u["version"], json!(3));
    let (s, b) = call(
        &emu,
        "PATCH",
        &path,
        Some(json!({"filters": {"version": 2}})),
    )
    .await;
    assert_eq!(
        (s, b["detail"].as_str()),
        (
            400,
            Some("filters.version is reserved. Remove it from the request.")
        )
    );
    let (s, _) = call(&emu, "PATCH", &path, Some(json!({"archived": true}))).await;
    assert_eq!(s, 400, "archiving an enabled flag needs active: false");
    // Soft delete: retrieve still answers, the list hides it.
    let (s, u) = call(&emu, "PATCH", &path, Some(json!({"deleted": true}))).await;
    assert_eq!((s, u["deleted"].clone()), (200, json!(true)));
    let (s, g) = call(&emu, "GET", &path, None).await;
    assert_eq!((s, g["deleted"].clone()), (200, json!(true)));
    assert_eq!(
        call(&emu, "GET", &p("feature_flags/"), None).await.1["count"],
        json!(0)
    );
    let (s, h, b) = call_full(
        &emu,
        "DELETE",
        &path,
        None,
        Some(emu.personal_api_key()),
        &[],
    )
    .await;
    assert_eq!((s, b), (405, Value::Null), "405 with an empty body");
    assert!(h.get("content-type").is_none());
    assert_eq!(
        call(&emu, "GET", &p("feature_flags/99999/"), None).await.1["code"],
        json!("not_found")
    );
}

// §10.5 — activity.
// §1.5 — disabling a flag other active flags depend on is refused (400); an approval policy
// answers 409 and changes nothing; a seeded `updated_at` is kept.
#[tokio::test]
async fn disables_refused_by_dependents_and_approval_policies() {
    let emu = Emulator::start().await.unwrap();
    emu.seed(&json!({"flags": [
        {"key": "base", "updated_at": "2026-01-02T00:00:00Z", "created_at": "2026-01-01T00:00:00Z"},
        {"key": "gated"},
    ]}))
    .unwrap();
    let (_, base) = call(&emu, "GET", &p("feature_flags/?key=base"), None).await;
    let base = &base["results"][0];
    assert_eq!(base["updated_at"], "2026-01-02T00:00:00.000000Z");
    let base_id = base["id"].as_i64().unwrap();
    let dependent = json!({"key": "dependent", "filters": {"groups": [{"properties": [
        {"key": base_id.to_string(), "type": "flag", "value": true, "operator": "flag_evaluates_to"}
    ], "rollout_percentage": 100}]}});
    let (s, dep) = create(&emu, dependent).await;
    assert_eq!(s, 201);
    let (s, b) = call(
        &emu,
        "PATCH",
        &p(&format!("feature_flags/{base_id}/")),
        Some(json!({"active": false})),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(
        b["detail"],
        format!(
            "Cannot disable this feature flag because other flags depend on it: dependent (ID: {}). Please update or disable the dependent flags first.",
            dep["id"]
        )
    );
    // Once the dependent is off, the disable goes through.
    let dep_path = p(&format!("feature_flags/{}/", dep["id"]));
    let (s, _) = call(&emu, "PATCH", &dep_path, Some(json!({"active": false}))).await;
    assert_eq!(s, 200);
    let base_path = p(&format!("feature_flags/{base_id}/"));
    let (s, b) = call(&emu, "PATCH", &base_path, Some(json!({"active": false}))).await;
    assert_eq!((s, b["active"].clone()), (200, json!(false)));

    emu.set_knobs(Knobs {
        approval_required: vec!["gated".into()],
        ..Knobs::default()
    });
    let (_, gated) = call(&emu, "GET", &p("feature_flags/?key=gated"), None).await;
    let gated_path = p(&format!("feature_flags/{}/", gated["results"][0]["id"]));
    let (s, b) = call(&emu, "PATCH", &gated_path, Some(json!({"active": false}))).await;
    assert_eq!((s, b["code"].as_str()), (409, Some("approval_required")));
    let (_, after) = call(&emu, "GET", &gated_path, None).await;
    assert_eq!(
        (after["active"].clone(), after["version"].clone()),
        (json!(true), json!(1))
    );
}

#[tokio::test]
async fn activity_is_paged_and_skips_patch_tags() {
    let emu = Emulator::start().await.unwrap();
    let (_, f) = create(
        &emu,
        json!({"key": "f", "filters": {"groups": [{"rollout_percentage": 0}]}}),
    )
    .await;
    let id = f["id"].as_i64().unwrap();
    let flag = p(&format!("feature_flags/{id}/"));
    call(&emu, "PATCH", &flag, Some(json!({"active": false}))).await;
    call(&emu, "PATCH", &flag, Some(json!({"tags": ["x"]}))).await;
    call(
        &emu,
        "POST",
        &p("feature_flags/bulk_update_tags/"),
        Some(json!({"ids": [id], "action": "add", "tags": ["y"]})),
    )
    .await;
    let (s, page) = call(
        &emu,
        "GET",
        &p(&format!("feature_flags/{id}/activity/?limit=2")),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(page["total_count"], json!(4));
    let first = &page["results"][0];
    assert_eq!(
        first["detail"]["changes"],
        json!([{"type": "FeatureFlag", "action": "changed", "field": "tags", "before": ["x"], "after": ["x", "y"]}]),
        "bulk_update_tags is recorded"
    );
    let patch_tags = &page["results"][1]["detail"]["changes"];
    assert_eq!(
        patch_tags
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["field"].clone())
            .collect::<Vec<_>>(),
        vec![json!("version")],
        "a PATCH of tags records only the version"
    );
    let next = page["next"].as_str().unwrap();
    assert!(
        next.contains("page=2") && next.contains("limit=2"),
        "{next}"
    );
    let (_, p2) = call(&emu, "GET", next, None).await;
    let fields: Vec<Value> = p2["results"][0]["detail"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].clone())
        .collect();
    assert_eq!(fields, vec![json!("active"), json!("version")]);
    assert_eq!(p2["results"][1]["activity"], json!("created"));
    assert_eq!(p2["next"], Value::Null);
    assert_eq!(
        call(
            &emu,
            "GET",
            &p(&format!("feature_flags/{id}/activity/?limit=2&page=3")),
            None
        )
        .await
        .0,
        404
    );
    // The switch records PATCH tag edits.
    emu.set_knobs(Knobs {
        record_patch_tags: true,
        ..Knobs::default()
    });
    call(&emu, "PATCH", &flag, Some(json!({"tags": ["z"]}))).await;
    let (_, page) = call(
        &emu,
        "GET",
        &p(&format!("feature_flags/{id}/activity/")),
        None,
    )
    .await;
    assert!(
        page["results"][0]["detail"]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["field"] == json!("tags"))
    );
    assert_eq!(
        call(&emu, "GET", &p("feature_flags/424242/activity/"), None)
            .await
            .0,
        404
    );
    let (_, everything) = call(&emu, "GET", &p("feature_flags/activity/"), None).await;
    assert_eq!(everything["total_count"], json!(5));
}

// §1.9 — status.
#[tokio::test]
async fn status_has_effectively_full_rollout() {
    let emu = Emulator::start().await.unwrap();
    let cases = [
        (
            json!({"groups": [{"properties": [], "rollout_percentage": 100}]}),
            true,
        ),
        (
            json!({"groups": [{"properties": [{"key": "email", "type": "person", "value": "@x.io", "operator": "icontains"}], "rollout_percentage": 100}]}),
            false,
        ),
        (
            json!({"groups": [{"properties": [], "rollout_percentage": 50}]}),
            false,
        ),
        (
            json!({"groups": [{"properties": [], "rollout_percentage": 100}], "multivariate": {"variants": [{"key": "a", "rollout_percentage": 50}, {"key": "b", "rollout_percentage": 50}]}}),
            false,
        ),
    ];
    for (i, (filters, full)) in cases.into_iter().enumerate() {
        let (_, f) = create(&emu, json!({"key": format!("f{i}"), "filters": filters})).await;
        let (s, st) = call(
            &emu,
            "GET",
            &p(&format!("feature_flags/{}/status/", f["id"])),
            None,
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(
            st["rollout"]["effectively_full_rollout"],
            json!(full),
            "case {i}"
        );
    }
}

// §3 — experiments.
#[tokio::test]
async fn experiments_are_seedable_paged_with_archived_hidden() {
    let emu = Emulator::start().await.unwrap();
    emu.seed(&json!({"experiments": [
        {"name": "a", "feature_flag_key": "exp_a", "start_date": "2026-01-01T00:00:00Z"},
        {"name": "b", "feature_flag_key": "exp_b", "archived": true},
        {"name": "c", "feature_flag_key": "exp_c"},
    ]}))
    .unwrap();
    let (_, list) = call(&emu, "GET", &p("experiments/?limit=1"), None).await;
    assert_eq!(list["count"], json!(2));
    assert_eq!(list["results"][0]["name"], json!("c"));
    assert!(list["next"].as_str().unwrap().contains("offset=1"));
    let (_, archived) = call(&emu, "GET", &p("experiments/?archived=true"), None).await;
    assert_eq!(archived["count"], json!(1));
    let (_, running) = call(&emu, "GET", &p("experiments/?status=running"), None).await;
    assert_eq!(running["results"][0]["name"], json!("a"));
    // Creating an experiment for a new key creates its flag (control/test); a boolean flag is refused.
    let (s, _) = call(
        &emu,
        "POST",
        &p("experiments/"),
        Some(json!({"name": "d", "feature_flag_key": "exp_d"})),
    )
    .await;
    assert_eq!(s, 201);
    let (_, flags) = call(&emu, "GET", &p("feature_flags/?key=exp_d"), None).await;
    assert_eq!(
        flags["results"][0]["filters"]["multivariate"]["variants"][0]["key"],
        json!("control")
    );
    create(
        &emu,
        json!({"key": "boolean_flag", "filters": {"groups": [{"rollout_percentage": 0}]}}),
    )
    .await;
    let (s, b) = call(
        &emu,
        "POST",
        &p("experiments/"),
        Some(json!({"name": "e", "feature_flag_key": "boolean_flag"})),
    )
    .await;
    assert_eq!(
        (s, b["detail"].as_str()),
        (400, Some("Feature flag is not eligible for experiments."))
    );
    let id = list["results"][0]["id"].as_i64().unwrap();
    assert_eq!(
        call(&emu, "DELETE", &p(&format!("experiments/{id}/")), None)
            .await
            .0,
        405
    );
}

// §10.6 and the guard query.
#[tokio::test]
async fn queries_answer_the_guard_shape_and_refuse_the_rest() {
    let emu = Emulator::start().await.unwrap();
    let body = |q: &str| json!({"query": {"kind": "HogQLQuery", "query": q, "values": {}}});
    let (s, b) = call(
        &emu,
        "POST",
        &p("query/"),
        Some(body("SELECT properties[`$feature/x`] FROM events")),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(
        (b["type"].as_str(), b["detail"].as_str()),
        (
            Some("validation_error"),
            Some("Unable to resolve field: $feature/x")
        )
    );
    let (s, b) = call(&emu, "POST", &p("query/"), Some(body("SELECT 1"))).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (400, Some(flags_runtime::emulator::UNSUPPORTED_CODE))
    );
    let (s, b) = call(
        &emu,
        "POST",
        &p("query/"),
        Some(json!({"query": {"kind": "TrendsQuery"}})),
    )
    .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (400, Some(flags_runtime::emulator::UNSUPPORTED_CODE))
    );
    // The guard shape, also under /api/environments/, returns PostHog's response fields.
    let values = json!({"flag_keys": ["f"], "flag_since": ["2026-01-01"], "outcome_events": ["$exception"], "outcome_success_properties": [""], "since": "2026-01-01", "until": "2026-02-01"});
    emu.seed(&json!({"events": [
        {"event": "$feature_flag_called", "distinct_id": "u", "timestamp": "2026-01-02T00:00:00Z", "properties": {"$feature_flag": "f", "$feature_flag_response": true}},
        {"event": "$exception", "distinct_id": "u", "timestamp": "2026-01-03T00:00:00Z"},
    ]}))
    .unwrap();
    let q = json!({"query": {"kind": "HogQLQuery", "query": flags_runtime::client::GUARD_QUERY, "values": values}});
    let (s, b) = call(&emu, "POST", "/api/environments/1/query/", Some(q.clone())).await;
    assert_eq!(s, 200);
    assert_eq!(
        b["results"],
        json!([["f", "true", 1, 1, 1, 1, 1, 1, 1, 1, 1]])
    );
    assert_eq!(b["columns"][3], json!("users"));
    assert_eq!(b["hasMore"], json!(false));
    // refresh: async → 202, then the poll completes.
    let mut q = q;
    q["refresh"] = json!("async");
    let (s, b) = call(&emu, "POST", &p("query/"), Some(q)).await;
    assert_eq!(
        (s, b["query_status"]["complete"].clone()),
        (202, json!(false))
    );
    let id = b["query_status"]["id"].as_str().unwrap();
    let (s, b) = call(&emu, "GET", &p(&format!("query/{id}/")), None).await;
    assert_eq!(
        (s, b["query_status"]["complete"].clone()),
        (200, json!(true))
    );
    assert_eq!(b["query_status"]["results"]["results"][0][3], json!(1));
}

// §10.7 — definitions, /flags, capture.
#[tokio::test]
async fn definitions_flags_and_capture() {
    let emu = Emulator::start().await.unwrap();
    emu.seed(&json!({"flags": [
        {"key": "z_on", "active": true, "filters": {"groups": [{"properties": [], "rollout_percentage": 100}], "payloads": {"true": "{\"a\":1}"}}},
        {"key": "a_off", "active": false},
        {"key": "m_deleted", "deleted": true},
        {"key": "p_partial", "filters": {"groups": [{"properties": [], "rollout_percentage": 30}]}},
    ]}))
    .unwrap();
    let token = emu.project_api_key().to_owned();
    let defs_path = format!("/flags/definitions?token={token}&send_cohorts");
    let (s, h, b) = call_full(
        &emu,
        "GET",
        &defs_path,
        None,
        Some(emu.personal_api_key()),
        &[],
    )
    .await;
    assert_eq!(s, 200);
    let keys: Vec<_> = b["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        vec!["a_off", "p_partial", "z_on"],
        "non-deleted, inactive included, by key"
    );
    let etag = h.get("etag").unwrap().to_str().unwrap().to_owned();
    let (s, _, b) = call_full(
        &emu,
        "GET",
        &defs_path,
        None,
        Some(emu.personal_api_key()),
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!((s, b), (304, Value::Null));
    // The token may come as a header instead (posthog-rs).
    let (s, _, _) = call_full(
        &emu,
        "GET",
        "/flags/definitions",
        None,
        Some(emu.personal_api_key()),
        &[("x-posthog-project-api-key", &token)],
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        call_full(
            &emu,
            "GET",
            "/flags/definitions?token=phc_other",
            None,
            Some(emu.personal_api_key()),
            &[]
        )
        .await
        .0,
        401
    );
    assert_eq!(
        call_full(&emu, "GET", &defs_path, None, None, &[]).await.0,
        401
    );
    emu.set_knobs(Knobs {
        quota_limited: true,
        ..Knobs::default()
    });
    assert_eq!(
        call_full(
            &emu,
            "GET",
            &defs_path,
            None,
            Some(emu.personal_api_key()),
            &[]
        )
        .await
        .0,
        402
    );
    let (_, b) = call_with(
        &emu,
        "POST",
        "/flags?v=2",
        Some(json!({"token": token, "distinct_id": "u"})),
        None,
    )
    .await;
    assert_eq!(
        (b["flags"].clone(), b["quotaLimited"].clone()),
        (json!({}), json!(["feature_flags"]))
    );
    emu.set_knobs(Knobs::default());

    let (s, b) = call_with(
        &emu,
        "POST",
        "/flags?v=2",
        Some(json!({"token": token, "distinct_id": "u"})),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(b["flags"]["z_on"]["enabled"], json!(true));
    assert_eq!(
        b["flags"]["z_on"]["metadata"]["payload"],
        json!("{\"a\":1}")
    );
    assert_eq!(
        b["flags"]["z_on"]["reason"]["code"],
        json!("condition_match")
    );
    assert_eq!(b["flags"]["a_off"]["enabled"], json!(false));
    assert_eq!(
        b["flags"]["a_off"]["reason"]["code"],
        json!("flag_disabled")
    );
    assert!(b["flags"].get("m_deleted").is_none());
    assert_eq!(b["errorsWhileComputingFlags"], json!(false));
    let (_, legacy) = call_with(
        &emu,
        "POST",
        "/flags",
        Some(json!({"api_key": token, "distinct_id": "u"})),
        None,
    )
    .await;
    assert_eq!(legacy["featureFlags"]["z_on"], json!(true));
    assert_eq!(
        call_with(
            &emu,
            "POST",
            "/flags?v=2",
            Some(json!({"token": token})),
            None
        )
        .await
        .0,
        400
    );
    assert_eq!(
        call_with(
            &emu,
            "POST",
            "/flags?v=2",
            Some(json!({"token": "phc_x", "distinct_id": "u"})),
            None
        )
        .await
        .0,
        401
    );

    let batch = json!({"api_key": token, "batch": [
        {"event": "a", "distinct_id": "u1", "properties": {"x": 1}, "timestamp": "2026-01-01T00:00:00Z", "uuid": "00000000-0000-4000-8000-000000000001"},
        {"event": "a", "distinct_id": "u1", "uuid": "00000000-0000-4000-8000-000000000001"},
        {"event": "b", "properties": {"distinct_id": "u2"}},
        {"event": "", "distinct_id": "u3"},
        {"event": "c"},
    ]});
    let (s, _) = call_with(&emu, "POST", "/batch/", Some(batch), None).await;
    assert_eq!(s, 200);
    let (s, _) = call_with(
        &emu,
        "POST",
        "/i/v0/e/",
        Some(json!({"api_key": token, "event": "single", "distinct_id": "u4"})),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let events = emu.dump()["events"].clone();
    let names: Vec<_> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["a", "b", "single"],
        "duplicates by uuid and events without name or distinct_id are dropped"
    );
    assert_eq!(events[0]["properties"], json!({"x": 1}));
}

// §10.7 — `/flags?v=2` answers with the runtime's own evaluator, so it agrees with local
// evaluation of the definitions the emulator serves.
#[tokio::test]
async fn remote_evaluation_uses_the_runtime_evaluator() {
    use flags_runtime::eval::{EvalContext, Properties, Snapshot};
    let emu = Emulator::start().await.unwrap();
    emu.seed(&json!({"flags": [
        {"key": "partial", "filters": {"groups": [{"properties": [], "rollout_percentage": 30}]}},
        {"key": "targeted", "filters": {"groups": [{"properties": [{"key": "email", "type": "person", "operator": "icontains", "value": "@acme.io"}], "rollout_percentage": 100}]}},
        {"key": "experiment", "filters": {"groups": [{"properties": [], "rollout_percentage": 100}],
            "multivariate": {"variants": [{"key": "control", "rollout_percentage": 50}, {"key": "test", "rollout_percentage": 50}]}}},
    ]}))
    .unwrap();
    let token = emu.project_api_key().to_owned();
    let (_, _, defs) = call_full(
        &emu,
        "GET",
        &format!("/flags/definitions?token={token}"),
        None,
        Some(emu.personal_api_key()),
        &[],
    )
    .await;
    let local = Snapshot::from_value(&defs).unwrap();
    let empty = Properties::new();
    let (mut on, mut variants) = (0, std::collections::BTreeSet::new());
    for i in 0..200 {
        let user = format!("user-{i}");
        let (_, b) = call_with(
            &emu,
            "POST",
            "/flags?v=2",
            Some(json!({"token": token, "distinct_id": user})),
            None,
        )
        .await;
        for key in ["partial", "experiment"] {
            let mine = local.evaluate(key, &EvalContext::new(&user, &empty));
            assert_eq!(
                b["flags"][key]["enabled"],
                json!(mine.value.is_some_and(|v| v.is_enabled())),
                "{key} {user}"
            );
            assert_eq!(
                b["flags"][key]["variant"],
                json!(mine.value.as_ref().and_then(|v| v.variant())),
                "{key} {user}"
            );
        }
        on += usize::from(b["flags"]["partial"]["enabled"] == json!(true));
        variants.insert(
            b["flags"]["experiment"]["variant"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert!((30..=90).contains(&on), "about 30% of 200 users: {on}");
    assert_eq!(
        variants.into_iter().collect::<Vec<_>>(),
        vec!["control", "test"]
    );
    // Person properties from the request reach the evaluator.
    let (_, b) = call_with(&emu, "POST", "/flags?v=2", Some(json!({"token": token, "distinct_id": "u", "person_properties": {"email": "ann@acme.io"}})), None).await;
    assert_eq!(b["flags"]["targeted"]["enabled"], json!(true));
    assert_eq!(
        b["flags"]["targeted"]["reason"],
        json!({"code": "condition_match", "condition_index": 0, "description": "Matched condition set 1"})
    );
    let (_, b) = call_with(&emu, "POST", "/flags?v=2", Some(json!({"token": token, "distinct_id": "u", "person_properties": {"email": "bob@other.io"}}), ), None).await;
    assert_eq!(b["flags"]["targeted"]["enabled"], json!(false));
    // Without the property the evaluator cannot decide; the emulator says so instead of guessing.
    let (_, b) = call_with(
        &emu,
        "POST",
        "/flags?v=2",
        Some(json!({"token": token, "distinct_id": "u", "flag_keys": ["targeted"]})),
        None,
    )
    .await;
    assert_eq!(
        b["flags"]["targeted"]["reason"]["code"],
        json!("emulator_inconclusive")
    );
    assert_eq!(
        b["flags"].as_object().unwrap().len(),
        1,
        "flag_keys limits the answer"
    );
}

// §10.8 — throttles.
#[tokio::test]
async fn throttles_answer_posthogs_429() {
    let emu = Emulator::start().await.unwrap();
    emu.set_knobs(Knobs {
        rate_limits: Some(RateLimits {
            crud: vec![Window {
                max: 2,
                per_secs: 30.0,
            }],
            ..RateLimits::default()
        }),
        ..Knobs::default()
    });
    for _ in 0..2 {
        assert_eq!(call(&emu, "GET", &p("feature_flags/"), None).await.0, 200);
    }
    let (s, h, b) = call_full(
        &emu,
        "GET",
        &p("feature_flags/"),
        None,
        Some(emu.personal_api_key()),
        &[],
    )
    .await;
    assert_eq!(s, 429);
    assert_eq!(b["type"], json!("throttled_error"));
    assert_eq!(b["code"], json!("throttled"));
    let detail = b["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("Request was throttled. Expected available in ")
            && detail.ends_with(" seconds."),
        "{detail}"
    );
    assert!(
        h.get("retry-after").is_none(),
        "PostHog sends no Retry-After"
    );
    emu.set_knobs(Knobs {
        retry_after_header: true,
        ..emu.knobs()
    });
    let (s, h, _) = call_full(
        &emu,
        "GET",
        &p("feature_flags/"),
        None,
        Some(emu.personal_api_key()),
        &[],
    )
    .await;
    assert_eq!(s, 429);
    assert!(
        h.get("retry-after")
            .unwrap()
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    // The query throttle is separate (120/hour by default).
    assert_eq!(
        RateLimits::default().query,
        vec![Window {
            max: 120,
            per_secs: 3600.0
        }]
    );
    assert_eq!(
        RateLimits::default().crud[0],
        Window {
            max: 480,
            per_secs: 60.0
        }
    );
}

// Knobs: faults, latency, the log; seed, reset, dump over HTTP; the state file.
#[tokio::test]
async fn faults_are_deterministic_and_logged() {
    let emu = Emulator::start().await.unwrap();
    emu.set_knobs(Knobs {
        faults: Some(Faults {
            kind: FaultKind::Status500,
            every: Some(3),
            probability: None,
            seed: 0,
            matching: None,
        }),
        ..Knobs::default()
    });
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(call(&emu, "GET", &p("feature_flags/"), None).await.0);
    }
    assert_eq!(statuses, vec![200, 200, 500, 200, 200, 500]);
    let pattern = |seed: u64| {
        let emu = &emu;
        async move {
            emu.set_knobs(Knobs {
                faults: Some(Faults {
                    kind: FaultKind::Status502,
                    every: None,
                    probability: Some(0.5),
                    seed,
                    matching: None,
                }),
                ..Knobs::default()
            });
            let mut out = Vec::new();
            for _ in 0..12 {
                out.push(call(emu, "GET", &p("feature_flags/"), None).await.0);
            }
            out
        }
    };
    let (a, b, c) = (pattern(1).await, pattern(1).await, pattern(2).await);
    assert_eq!(a, b, "the same seed gives the same faults");
    assert_ne!(a, c);
    assert!(a.contains(&502) && a.contains(&200));
    emu.set_knobs(Knobs {
        faults: Some(Faults {
            kind: FaultKind::Reset,
            every: Some(1),
            probability: None,
            seed: 0,
            matching: None,
        }),
        ..Knobs::default()
    });
    let err = reqwest::Client::new()
        .get(format!("{}{}", emu.base_url(), p("feature_flags/")))
        .send()
        .await
        .unwrap_err();
    assert!(
        !err.is_status(),
        "the connection was dropped without an answer"
    );
    let log = emu.log();
    assert_eq!(log.status_count(500), 2);
    assert_eq!(log.status_count(0), 1);
    assert_eq!(
        log.count("GET /api/projects/{id}/feature_flags/"),
        6 + 36 + 1
    );
}

#[tokio::test]
async fn control_endpoints_seed_reset_dump_and_knobs() {
    let emu = Emulator::start().await.unwrap();
    let (s, b) = call_with(&emu, "POST", "/_emulator/seed", Some(json!({"flags": [seed_flag("a"), seed_flag("b")], "events": [{"event": "e", "distinct_id": "u"}]})), None).await;
    assert_eq!(
        (s, b),
        (200, json!({"flags": 2, "experiments": 0, "events": 1}))
    );
    let (_, dump) = call_with(&emu, "GET", "/_emulator/dump", None, None).await;
    assert_eq!(dump["flags"].as_array().unwrap().len(), 2);
    let (s, k) = call_with(
        &emu,
        "PUT",
        "/_emulator/knobs",
        Some(json!({"latency_ms": 5, "retry_after_header": true})),
        None,
    )
    .await;
    assert_eq!(
        (s, k["latency_ms"].clone(), k["quota_limited"].clone()),
        (200, json!(5), json!(false))
    );
    assert_eq!(emu.knobs().latency_ms, 5);
    assert_eq!(
        call(&emu, "GET", &p("feature_flags/"), None).await.0,
        200,
        "still answers with latency"
    );
    let (_, log) = call_with(&emu, "GET", "/_emulator/log", None, None).await;
    assert_eq!(
        log["counts"],
        json!({"GET /api/projects/{id}/feature_flags/": 1})
    );
    assert_eq!(
        call_with(&emu, "POST", "/_emulator/reset", None, None)
            .await
            .0,
        200
    );
    assert_eq!(emu.dump()["flags"], json!([]));
    assert_eq!(emu.knobs(), Knobs::default());
    let (s, _) = call_with(
        &emu,
        "POST",
        "/_emulator/keys",
        Some(json!({"key": "phx_new", "scopes": ["feature_flag:read"]})),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        call_with(&emu, "GET", &p("feature_flags/"), None, Some("phx_new"))
            .await
            .0,
        200
    );
    assert_eq!(
        call_with(
            &emu,
            "PUT",
            "/_emulator/knobs",
            Some(json!({"latency_ms": "slow"})),
            None
        )
        .await
        .0,
        400
    );
}

#[tokio::test]
async fn the_state_file_survives_a_restart() {
    let dir = std::env::temp_dir().join(format!("flags-emulator-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("state.json");
    let _ = std::fs::remove_file(&file);
    {
        let emu = Emulator::builder().state_file(&file).start().await.unwrap();
        assert_eq!(
            create(
                &emu,
                json!({"key": "kept", "filters": {"groups": [{"rollout_percentage": 0}]}})
            )
            .await
            .0,
            201
        );
    }
    let emu = Emulator::builder().state_file(&file).start().await.unwrap();
    let (_, list) = call(&emu, "GET", &p("feature_flags/"), None).await;
    assert_eq!(keys(&list), vec!["kept"]);
    assert_eq!(
        create(
            &emu,
            json!({"key": "second", "filters": {"groups": [{"rollout_percentage": 0}]}})
        )
        .await
        .1["id"],
        json!(list["results"][0]["id"].as_i64().unwrap() + 2),
        "ids continue"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn serve_runs_on_a_fixed_address() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let server = tokio::spawn(flags_runtime::emulator::serve(addr, None));
    let url = format!("http://{addr}/_emulator/health");
    let mut ok = false;
    for _ in 0..100 {
        if let Ok(r) = reqwest::get(&url).await {
            ok = r.status().as_u16() == 200;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    server.abort();
    assert!(ok);
}
