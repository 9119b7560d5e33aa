//! Feature-flag and experiment endpoints (posthog-api.md §1, §3).

use serde_json::{Map, Value, json};

use super::http::{Req, Resp};
use super::state::{Activity, Experiment, Flag, State, iso, normalize_tags};

const SYSTEM_USER: &str = "emulator@posthog.invalid";

fn user() -> Value {
    json!({ "id": 1, "first_name": "Emulator", "email": SYSTEM_USER })
}

/// The flag as the API returns it.
pub(crate) fn flag_json(state: &State, f: &Flag) -> Value {
    let experiments: Vec<i64> = state
        .experiments
        .iter()
        .filter(|e| !e.deleted && e.feature_flag_key == f.key)
        .map(|e| e.id)
        .collect();
    json!({
        "id": f.id, "name": f.name, "key": f.key, "filters": f.filters, "deleted": f.deleted,
        "active": f.active, "archived": f.archived, "created_by": user(), "created_at": iso(f.created_at),
        "updated_at": iso(f.updated_at), "version": f.version, "last_modified_by": user(),
        "ensure_experience_continuity": f.ensure_experience_continuity, "experiment_set": experiments,
        "surveys": [], "features": [], "can_edit": true, "tags": f.tags, "evaluation_contexts": [],
        "is_remote_configuration": false, "has_encrypted_payloads": false, "evaluation_runtime": "all",
        "bucketing_identifier": "distinct_id", "user_access_level": "editor",
    })
}

fn is_multivariate(filters: &Value) -> bool {
    filters["multivariate"]["variants"]
        .as_array()
        .is_some_and(|v| !v.is_empty())
}

fn groups(filters: &Value) -> &[Value] {
    filters["groups"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn rollout(group: &Value) -> f64 {
    group["rollout_percentage"].as_f64().unwrap_or(100.0)
}

fn unfiltered(group: &Value) -> bool {
    group["properties"].as_array().is_none_or(Vec::is_empty)
}

/// PostHog's `effectively_full_rollout` (flag_status.py): a boolean flag with one unfiltered
/// 100% condition (or no conditions); a multivariate flag additionally serves one variant to
/// everyone (a condition's variant override, or a variant at 100%).
pub(crate) fn effectively_full_rollout(filters: &Value) -> bool {
    let gs = groups(filters);
    let full_groups: Vec<&Value> = gs
        .iter()
        .filter(|g| unfiltered(g) && rollout(g) >= 100.0)
        .collect();
    if !is_multivariate(filters) {
        return gs.is_empty() || !full_groups.is_empty();
    }
    let variant_at_100 = filters["multivariate"]["variants"]
        .as_array()
        .is_some_and(|vs| {
            vs.iter()
                .any(|v| v["rollout_percentage"].as_f64() == Some(100.0))
        });
    full_groups.iter().any(|g| g["variant"].is_string())
        || (!full_groups.is_empty() && variant_at_100)
}

/// Case-insensitive "contains" where each space matches `[\s\-_]*` (PostHog's search).
fn search_matches(haystack: &str, needle: &str) -> bool {
    let hay: Vec<char> = haystack.to_lowercase().chars().collect();
    let parts: Vec<Vec<char>> = needle
        .to_lowercase()
        .split(' ')
        .filter(|p| !p.is_empty())
        .map(|p| p.chars().collect())
        .collect();
    if parts.is_empty() {
        return true;
    }
    let sep = |c: char| c.is_whitespace() || c == '-' || c == '_';
    fn match_at(hay: &[char], parts: &[Vec<char>], sep: &dyn Fn(char) -> bool) -> bool {
        let Some((first, rest)) = parts.split_first() else {
            return true;
        };
        if !hay.starts_with(first) {
            return false;
        }
        let mut i = first.len();
        if rest.is_empty() {
            return true;
        }
        loop {
            if match_at(&hay[i..], rest, sep) {
                return true;
            }
            if i < hay.len() && sep(hay[i]) {
                i += 1;
            } else {
                return false;
            }
        }
    }
    (0..=hay.len()).any(|start| match_at(&hay[start..], &parts, &sep))
}

fn page_params(req: &Req, default_limit: usize) -> (usize, usize) {
    let limit = req
        .param("limit")
        .and_then(|v| v.parse().ok())
        .filter(|&l| l > 0)
        .unwrap_or(default_limit);
    let offset = req
        .param("offset")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (limit, offset)
}

/// DRF's `LimitOffsetPagination` over `items`; only the page is rendered with `render`.
pub(crate) fn paginate<T>(req: &Req, items: &[T], render: impl Fn(&T) -> Value) -> Resp {
    let (limit, offset) = page_params(req, 100);
    let count = items.len();
    let next = (offset.saturating_add(limit) < count).then(|| {
        req.url_with(&[
            ("limit", limit.to_string()),
            ("offset", offset.saturating_add(limit).to_string()),
        ])
    });
    let previous = (offset > 0).then(|| {
        req.url_with(&[
            ("limit", limit.to_string()),
            ("offset", offset.saturating_sub(limit).to_string()),
        ])
    });
    let results: Vec<Value> = items.iter().skip(offset).take(limit).map(render).collect();
    Resp::ok(&json!({ "count": count, "next": next, "previous": previous, "results": results }))
}

/// `GET …/feature_flags/`.
pub(crate) fn list(state: &State, req: &Req) -> Resp {
    if let Some(s) = req.param("search")
        && s.chars().count() > 200
    {
        return Resp::validation(
            "invalid_input",
            "Search term cannot exceed 200 characters",
            None,
        );
    }
    // A tags value that is not a JSON list is silently ignored, as in PostHog.
    let tags: Option<Vec<String>> = req
        .param("tags")
        .and_then(|t| serde_json::from_str::<Vec<Value>>(t).ok())
        .map(|v| {
            v.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        });
    let excluded: Option<Vec<String>> = req
        .param("excluded_tags")
        .and_then(|t| serde_json::from_str::<Vec<Value>>(t).ok())
        .map(|v| {
            v.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        });
    let experiment_keys: Vec<&str> = state
        .experiments
        .iter()
        .filter(|e| !e.deleted)
        .map(|e| e.feature_flag_key.as_str())
        .collect();
    let mut flags: Vec<&Flag> = state
        .flags
        .iter()
        .filter(|f| !f.deleted)
        .filter(|f| match req.param("archived") {
            None => !f.archived,
            Some(a) => f.archived == a.eq_ignore_ascii_case("true"),
        })
        .filter(|f| {
            tags.as_ref()
                .is_none_or(|ts| f.tags.iter().any(|t| ts.contains(t)))
        })
        .filter(|f| {
            excluded
                .as_ref()
                .is_none_or(|ts| !f.tags.iter().any(|t| ts.contains(t)))
        })
        .filter(|f| match req.param("active") {
            Some("true") => f.active,
            Some("false") => !f.active,
            Some("STALE") => f.active && effectively_full_rollout(&f.filters),
            _ => true,
        })
        .filter(|f| {
            req.param("key")
                .is_none_or(|k| f.key.eq_ignore_ascii_case(k))
        })
        .filter(|f| {
            req.param("search")
                .is_none_or(|s| search_matches(&f.key, s) || search_matches(&f.name, s))
        })
        .filter(|f| match req.param("type") {
            Some("boolean") => !is_multivariate(&f.filters),
            Some("multivariant") => is_multivariate(&f.filters),
            Some("experiment") => experiment_keys.contains(&f.key.as_str()),
            Some("remote_config") => false,
            _ => true,
        })
        .collect();
    flags.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    let resp = paginate(req, &flags, |f| flag_json(state, f));
    if state.knobs.repeat_cursor {
        let mut body: Value = serde_json::from_slice(&resp.body).unwrap_or_default();
        if body["next"].is_string() {
            body["next"] = json!(req.url_with(&[("offset", "0".into())]));
        }
        return Resp::ok(&body);
    }
    resp
}

/// `GET …/feature_flags/:id/` (soft-deleted flags included).
pub(crate) fn get(state: &State, id: i64) -> Resp {
    match state.flags.iter().find(|f| f.id == id) {
        Some(f) => Resp::ok(&flag_json(state, f)),
        None => Resp::not_found(),
    }
}

fn activity(state: &mut State, flag: &Flag, kind: &str, changes: Vec<Value>) {
    let id = state.id();
    let created_at = state.now_ms();
    state.activity.push(Activity {
        id,
        flag_id: flag.id,
        key: flag.key.clone(),
        activity: kind.into(),
        changes,
        created_at,
    });
}

fn change(field: &str, before: Value, after: Value) -> Value {
    json!({ "type": "FeatureFlag", "action": "changed", "field": field, "before": before, "after": after })
}

/// Validates a key as PostHog does: length (DRF field), then uniqueness among non-deleted flags
/// (archived included), then the regex.
fn validate_key(state: &State, key: &str) -> Result<(), Resp> {
    if key.chars().count() > 400 {
        return Err(Resp::validation(
            "max_length",
            "Ensure this field has no more than 400 characters.",
            Some("key"),
        ));
    }
    if state.flags.iter().any(|f| !f.deleted && f.key == key) {
        return Err(Resp::validation(
            "unique",
            "There is already a feature flag with this key.",
            Some("key"),
        ));
    }
    if key.is_empty()
        || !key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(Resp::validation(
            "invalid_key",
            "Only letters, numbers, hyphens (-) & underscores (_) are allowed.",
            Some("key"),
        ));
    }
    Ok(())
}

fn validate_filters(filters: &Value, creating: bool) -> Result<(), Resp> {
    if !filters.is_object() {
        return Err(Resp::validation(
            "invalid_input",
            "Filters must be an object.",
            Some("filters"),
        ));
    }
    if filters.get("version").is_some() {
        return Err(Resp::validation(
            "invalid_input",
            "filters.version is reserved. Remove it from the request.",
            Some("filters"),
        ));
    }
    if creating && groups(filters).is_empty() {
        return Err(Resp::validation(
            "invalid_input",
            "Feature flags must have at least one condition set (group).",
            Some("filters"),
        ));
    }
    for g in groups(filters) {
        if let Some(r) = g.get("rollout_percentage")
            && !r.is_null()
            && !r.as_f64().is_some_and(|p| (0.0..=100.0).contains(&p))
        {
            return Err(Resp::validation(
                "invalid_input",
                "Rollout percentage must be a number between 0 and 100.",
                Some("filters"),
            ));
        }
    }
    Ok(())
}

/// Frees `key` from soft-deleted flags before a create, as PostHog's
/// `_free_key_held_by_soft_deleted_flags` does: the holders are removed, unless an experiment
/// that is not deleted still references one, which PostHog refuses with a 400.
fn free_soft_deleted_key(state: &mut State, key: &str) -> Result<(), Resp> {
    if !state.flags.iter().any(|f| f.deleted && f.key == key) {
        return Ok(());
    }
    let blockers: Vec<String> = state
        .experiments
        .iter()
        .filter(|e| !e.deleted && e.feature_flag_key == key)
        .map(|e| e.id.to_string())
        .collect();
    if !blockers.is_empty() {
        return Err(Resp::validation(
            "invalid_input",
            &format!(
                "Cannot reuse key '{key}': a soft-deleted flag with this key is still referenced by \
                 active experiment(s) with ID(s): {}. Please contact support.",
                blockers.join(", ")
            ),
            None,
        ));
    }
    state.flags.retain(|f| !(f.deleted && f.key == key));
    Ok(())
}

/// `POST …/feature_flags/`.
pub(crate) fn create(state: &mut State, body: &Value) -> Resp {
    let Some(key) = body.get("key").and_then(Value::as_str) else {
        return Resp::validation("required", "This field is required.", Some("key"));
    };
    if let Err(r) = validate_key(state, key) {
        return r;
    }
    let filters = match body.get("filters") {
        None | Some(Value::Null) => json!({ "groups": [] }),
        Some(f) => {
            if let Err(r) = validate_filters(f, true) {
                return r;
            }
            f.clone()
        }
    };
    let active = body.get("active").and_then(Value::as_bool).unwrap_or(true);
    let archived = body
        .get("archived")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if archived && active {
        return Resp::validation(
            "invalid_input",
            "An archived feature flag cannot be active.",
            Some("archived"),
        );
    }
    let tags = normalize_tags(
        body.get("tags")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]),
    );
    if let Err(r) = free_soft_deleted_key(state, key) {
        return r;
    }
    let id = state.id();
    let now = state.now_ms();
    let flag = Flag {
        id,
        key: key.to_owned(),
        name: body
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim()
            .to_owned(),
        filters,
        active,
        archived,
        deleted: false,
        tags,
        version: 1,
        created_at: now,
        updated_at: now,
        ensure_experience_continuity: body
            .get("ensure_experience_continuity")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    };
    activity(
        state,
        &flag,
        "created",
        vec![
            json!({ "type": "FeatureFlag", "action": "created", "field": null, "before": null, "after": null }),
        ],
    );
    let out = flag_json(state, &flag);
    state.flags.push(flag);
    Resp::json(201, &out)
}

/// `PATCH …/feature_flags/:id/`: a partial update.
pub(crate) fn patch(state: &mut State, id: i64, body: &Value) -> Resp {
    let Some(idx) = state.flags.iter().position(|f| f.id == id) else {
        return Resp::not_found();
    };
    let Some(body) = body.as_object() else {
        return Resp::validation("invalid_input", "Expected a JSON object.", None);
    };
    let before = state.flags[idx].clone();
    if state.knobs.approval_required.contains(&before.key) {
        // An approval policy gates changes to this flag: nothing is applied, a change request
        // is opened (the exact body is unverified; see docs/posthog-api.md §1.4).
        let change_request = state.id();
        return Resp::json(
            409,
            &json!({ "type": "invalid_request", "code": "approval_required",
                     "detail": "This change requires approval. A change request has been created.",
                     "attr": null, "change_request_id": change_request }),
        );
    }
    let mut f = before.clone();
    if let Some(name) = body.get("name").and_then(Value::as_str) {
        // DRF's CharField trims surrounding whitespace (`trim_whitespace` defaults to true).
        f.name = name.trim().to_owned();
    }
    if let Some(filters) = body.get("filters") {
        if let Err(r) = validate_filters(filters, false) {
            return r;
        }
        // 2026 behaviour: incoming top-level keys replace the stored ones, the rest are kept.
        if let (Some(stored), Some(incoming)) = (f.filters.as_object_mut(), filters.as_object()) {
            for (k, v) in incoming {
                stored.insert(k.clone(), v.clone());
            }
        }
    }
    if let Some(a) = body.get("active").and_then(Value::as_bool) {
        f.active = a;
    }
    if let Some(a) = body.get("archived").and_then(Value::as_bool) {
        f.archived = a;
    }
    if let Some(d) = body.get("deleted").and_then(Value::as_bool) {
        f.deleted = d;
    }
    if let Some(e) = body
        .get("ensure_experience_continuity")
        .and_then(Value::as_bool)
    {
        f.ensure_experience_continuity = e;
    }
    if let Some(tags) = body.get("tags").and_then(Value::as_array) {
        f.tags = normalize_tags(tags);
    }
    if f.archived
        && !before.archived
        && before.active
        && body.get("active").and_then(Value::as_bool) != Some(false)
    {
        return Resp::validation(
            "invalid_input",
            "Cannot archive an enabled feature flag. Disable it first, or send active: false in the same request.",
            None,
        );
    }
    if f.archived && f.active {
        return Resp::validation(
            "invalid_input",
            "Cannot enable an archived feature flag. Unarchive it first.",
            None,
        );
    }
    if before.active
        && !f.active
        && let Some(r) = refuse_disable(state, &before)
    {
        return r;
    }
    f.version = before.version + 1;
    f.updated_at = state.now_ms();
    let mut changes = Vec::new();
    let fields: [(&str, Value, Value); 6] = [
        ("name", json!(before.name), json!(f.name)),
        ("filters", before.filters.clone(), f.filters.clone()),
        ("active", json!(before.active), json!(f.active)),
        ("archived", json!(before.archived), json!(f.archived)),
        ("deleted", json!(before.deleted), json!(f.deleted)),
        ("version", json!(before.version), json!(f.version)),
    ];
    for (field, b, a) in fields {
        if b != a {
            changes.push(change(field, b, a));
        }
    }
    // PATCH tag edits are written after the flag's activity is computed in PostHog, so they are
    // not recorded here unless the knob asks for it.
    if state.knobs.record_patch_tags && before.tags != f.tags {
        changes.push(change("tags", json!(before.tags), json!(f.tags)));
    }
    let kind = match (before.deleted, f.deleted) {
        (false, true) => "deleted",
        (true, false) => "restored",
        _ => "updated",
    };
    activity(state, &f, kind, changes);
    let out = flag_json(state, &f);
    state.flags[idx] = f;
    Resp::ok(&out)
}

/// Whether a flag-type property in `filters` points at flag `id` (its `key` is the id, as a
/// string or a number).
fn depends_on(filters: &Value, id: i64) -> bool {
    groups(filters).iter().any(|g| {
        g["properties"].as_array().is_some_and(|props| {
            props.iter().any(|p| {
                p["type"] == "flag"
                    && (p["key"].as_i64() == Some(id) || p["key"].as_str() == Some(&id.to_string()))
            })
        })
    })
}

/// PostHog refuses to disable a flag that other active flags depend on (400, with the first
/// five of them named).
fn refuse_disable(state: &State, flag: &Flag) -> Option<Resp> {
    let dependents: Vec<&Flag> = state
        .flags
        .iter()
        .filter(|o| o.id != flag.id && o.active && !o.deleted && depends_on(&o.filters, flag.id))
        .collect();
    if dependents.is_empty() {
        return None;
    }
    let mut names = dependents
        .iter()
        .take(5)
        .map(|o| format!("{} (ID: {})", o.key, o.id))
        .collect::<Vec<_>>()
        .join(", ");
    if dependents.len() > 5 {
        names.push_str(&format!(", and {} more", dependents.len() - 5));
    }
    Some(Resp::validation(
        "invalid_input",
        &format!(
            "Cannot disable this feature flag because other flags depend on it: {names}. Please update or disable the dependent flags first."
        ),
        None,
    ))
}

fn activity_json(a: &Activity) -> Value {
    json!({
        "id": format!("00000000-0000-4000-8000-{:012x}", a.id), "user": user(), "activity": a.activity,
        "scope": "FeatureFlag", "item_id": a.flag_id.to_string(),
        "detail": { "id": a.flag_id, "name": a.key, "short_id": null, "type": null, "trigger": null, "changes": a.changes },
        "created_at": iso(a.created_at),
    })
}

/// `GET …/feature_flags/:id/activity/` (or every flag's, with `id = None`): page-based.
pub(crate) fn activity_log(state: &State, req: &Req, id: Option<i64>) -> Resp {
    if let Some(id) = id
        && !state.flags.iter().any(|f| f.id == id)
    {
        return Resp::not_found();
    }
    let limit: usize = req
        .param("limit")
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
        .max(1);
    let page: usize = req
        .param("page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let mut entries: Vec<&Activity> = state
        .activity
        .iter()
        .filter(|a| id.is_none_or(|id| a.flag_id == id))
        .collect();
    entries.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    let total = entries.len();
    let pages = total.div_ceil(limit).max(1);
    if page > pages {
        return Resp::error(404, "invalid_request", "not_found", "Invalid page.", None);
    }
    let results: Vec<Value> = entries
        .iter()
        .skip((page - 1) * limit)
        .take(limit)
        .map(|a| activity_json(a))
        .collect();
    let link = |p: usize| req.url_with(&[("limit", limit.to_string()), ("page", p.to_string())]);
    Resp::ok(&json!({
        "results": results,
        "next": (page < pages).then(|| link(page + 1)),
        "previous": (page > 1).then(|| link(page - 1)),
        "total_count": total,
    }))
}

/// `GET …/feature_flags/:id/status/`.
pub(crate) fn status(state: &State, id: i64) -> Resp {
    let Some(f) = state.flags.iter().find(|f| f.id == id) else {
        return Resp::not_found();
    };
    let full = effectively_full_rollout(&f.filters);
    let (status, reason) = if f.deleted {
        ("deleted", "Flag has been deleted")
    } else if f.archived {
        ("archived", "Flag has been archived")
    } else if f.active && full {
        (
            "stale",
            "Flag is at 100% rollout with no targeting conditions",
        )
    } else {
        (
            "active",
            "Flag is not fully rolled out and may still be evaluated",
        )
    };
    let gs = groups(&f.filters);
    let max = gs
        .iter()
        .map(rollout)
        .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.max(r))));
    Resp::ok(&json!({
        "status": status, "reason": reason, "reason_states_rollout": status == "stale",
        "rollout": {
            "effectively_full_rollout": full,
            "has_targeting_conditions": gs.iter().any(|g| !unfiltered(g)),
            "max_rollout_percentage": max,
            "is_multivariate": is_multivariate(&f.filters),
        }
    }))
}

/// `POST …/feature_flags/bulk_update_tags/`.
pub(crate) fn bulk_update_tags(state: &mut State, body: &Value) -> Resp {
    let Some(ids) = body.get("ids").and_then(Value::as_array) else {
        return Resp::validation("required", "This field is required.", Some("ids"));
    };
    let Some(tags) = body.get("tags").and_then(Value::as_array) else {
        return Resp::validation("required", "This field is required.", Some("tags"));
    };
    let action = body.get("action").and_then(Value::as_str).unwrap_or("");
    if !matches!(action, "add" | "remove" | "set") {
        return Resp::validation(
            "invalid_choice",
            &format!("\"{action}\" is not a valid choice."),
            Some("action"),
        );
    }
    if ids.len() > 500 {
        return Resp::validation(
            "max_length",
            "Ensure this field has no more than 500 elements.",
            Some("ids"),
        );
    }
    if tags.len() > 100 {
        return Resp::validation(
            "max_length",
            "Ensure this field has no more than 100 elements.",
            Some("tags"),
        );
    }
    let tags = normalize_tags(tags);
    if ids.len() * tags.len().max(1) > 10_000 {
        return Resp::validation(
            "invalid_input",
            "Too many tag operations (ids x tags exceeds 10000).",
            None,
        );
    }
    let mut updated = Vec::new();
    let mut skipped = Vec::new();
    for id in ids {
        let Some(id) = id.as_i64() else { continue };
        let Some(idx) = state.flags.iter().position(|f| f.id == id && !f.deleted) else {
            skipped.push(json!({ "id": id, "reason": "Not found or no edit access" }));
            continue;
        };
        let before = state.flags[idx].tags.clone();
        let mut after: Vec<String> = match action {
            "add" => before.iter().chain(tags.iter()).cloned().collect(),
            "remove" => before
                .iter()
                .filter(|t| !tags.contains(t))
                .cloned()
                .collect(),
            _ => tags.clone(),
        };
        after.sort();
        after.dedup();
        if after != before {
            state.flags[idx].tags = after.clone();
            let flag = state.flags[idx].clone();
            activity(
                state,
                &flag,
                "updated",
                vec![change("tags", json!(before), json!(after))],
            );
        }
        updated.push(json!({ "id": id, "tags": after }));
    }
    Resp::ok(&json!({ "updated": updated, "skipped": skipped }))
}

pub(crate) fn experiment_json(e: &Experiment) -> Value {
    json!({
        "id": e.id, "name": e.name, "description": e.description, "start_date": e.start_date,
        "end_date": e.end_date, "feature_flag_key": e.feature_flag_key, "archived": e.archived,
        "deleted": e.deleted, "created_at": iso(e.created_at), "created_by": user(), "type": "product",
        "parameters": {}, "metrics": [], "metrics_secondary": [],
    })
}

/// `GET …/experiments/`: newest first, deleted hidden, archived hidden unless `archived` is given.
pub(crate) fn list_experiments(state: &State, req: &Req) -> Resp {
    let mut exps: Vec<&Experiment> = state
        .experiments
        .iter()
        .filter(|e| !e.deleted)
        .filter(|e| match req.param("archived") {
            None => !e.archived,
            Some(a) => e.archived == a.eq_ignore_ascii_case("true"),
        })
        .filter(|e| match req.param("status") {
            Some("draft") => e.start_date.is_none(),
            Some("running") => e.start_date.is_some() && e.end_date.is_none(),
            Some("complete") => e.end_date.is_some(),
            _ => true,
        })
        .collect();
    exps.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    paginate(req, &exps, |e| experiment_json(e))
}

/// Inserts an experiment (from the API or a seed), creating its flag if missing.
pub(crate) fn insert_experiment(
    state: &mut State,
    body: &Map<String, Value>,
    validate: bool,
) -> Result<Experiment, Resp> {
    let name = body.get("name").and_then(Value::as_str).unwrap_or_default();
    let key = body
        .get("feature_flag_key")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if validate && name.is_empty() {
        return Err(Resp::validation(
            "required",
            "This field is required.",
            Some("name"),
        ));
    }
    if validate && key.is_empty() {
        return Err(Resp::validation(
            "required",
            "This field is required.",
            Some("feature_flag_key"),
        ));
    }
    let start_date = body
        .get("start_date")
        .and_then(Value::as_str)
        .map(str::to_owned);
    match state.flags.iter().find(|f| !f.deleted && f.key == key) {
        Some(f) if validate => {
            let first = f.filters["multivariate"]["variants"][0]["key"].as_str();
            let n = f.filters["multivariate"]["variants"]
                .as_array()
                .map_or(0, Vec::len);
            if n < 2 {
                return Err(Resp::validation(
                    "invalid_input",
                    "Feature flag is not eligible for experiments.",
                    None,
                ));
            }
            if first != Some("control") {
                return Err(Resp::validation(
                    "invalid_input",
                    "Feature flag must have control as the first variant.",
                    None,
                ));
            }
        }
        Some(_) => {}
        // A seeded experiment of a soft-deleted flag keeps pointing at it (no new flag).
        None if !validate && state.flags.iter().any(|f| f.deleted && f.key == key) => {}
        None if !key.is_empty() => {
            let id = state.id();
            let now = state.now_ms();
            state.flags.push(Flag {
                id,
                key: key.to_owned(),
                name: format!("Feature flag for experiment {name}"),
                filters: json!({
                    "groups": [{ "properties": [], "rollout_percentage": 100 }],
                    "multivariate": { "variants": [
                        { "key": "control", "rollout_percentage": 50 },
                        { "key": "test", "rollout_percentage": 50 }
                    ] }
                }),
                active: start_date.is_some(),
                archived: false,
                deleted: false,
                tags: Vec::new(),
                version: 1,
                created_at: now,
                updated_at: now,
                ensure_experience_continuity: false,
            });
        }
        None => {}
    }
    let id = state.id();
    let created_at = match body
        .get("created_at")
        .and_then(Value::as_str)
        .and_then(super::state::parse_iso)
    {
        Some(ms) => ms,
        None => state.now_ms(),
    };
    let e = Experiment {
        id,
        name: name.to_owned(),
        description: body
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        feature_flag_key: key.to_owned(),
        start_date,
        end_date: body
            .get("end_date")
            .and_then(Value::as_str)
            .map(str::to_owned),
        archived: body
            .get("archived")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        deleted: body
            .get("deleted")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        created_at,
    };
    state.experiments.push(e.clone());
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_is_contains_with_spaces_matching_separators() {
        assert!(search_matches("release_studio_new_editor", "studio new"));
        assert!(search_matches("Release-Studio", "release studio"));
        assert!(search_matches("abc", "B"));
        assert!(!search_matches("release_studio", "editor"));
    }

    #[test]
    fn full_rollout_follows_posthog() {
        assert!(effectively_full_rollout(
            &json!({"groups": [{"properties": [], "rollout_percentage": 100}]})
        ));
        assert!(
            effectively_full_rollout(&json!({"groups": [{"properties": []}]})),
            "missing rollout is 100"
        );
        assert!(!effectively_full_rollout(
            &json!({"groups": [{"properties": [{"key": "email"}], "rollout_percentage": 100}]})
        ));
        let fifty_fifty = json!({"groups": [{"properties": [], "rollout_percentage": 100}],
            "multivariate": {"variants": [{"key": "a", "rollout_percentage": 50}, {"key": "b", "rollout_percentage": 50}]}});
        assert!(!effectively_full_rollout(&fifty_fifty));
        let one = json!({"groups": [{"properties": [], "rollout_percentage": 100}],
            "multivariate": {"variants": [{"key": "a", "rollout_percentage": 100}, {"key": "b", "rollout_percentage": 0}]}});
        assert!(effectively_full_rollout(&one));
    }
}
