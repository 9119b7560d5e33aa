//! Public-host endpoints: `/flags/definitions`, `/flags`, `/batch/` and `/i/v0/e/`.

use std::hash::{Hash, Hasher};

use serde_json::{Map, Value, json};

use super::http::{Req, Resp};
use super::state::{Event, Flag, State, parse_iso};
use crate::eval::{EvalContext, Evaluation, Group, Properties, Reason, Snapshot};

/// `GET /flags/definitions`: every non-deleted flag (inactive included), ordered by key, with
/// an ETag; `If-None-Match` with the current ETag answers 304; the quota knob answers 402.
pub(crate) fn definitions(state: &State) -> (Resp, String) {
    let body = definitions_body(state);
    let text = body.to_string();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    let etag = format!("\"{:016x}\"", h.finish());
    let mut resp = Resp::ok(&body);
    resp.headers.push(("etag", etag.clone()));
    (resp, etag)
}

/// The `/flags/definitions` body: every non-deleted flag, ordered by key.
fn definitions_body(state: &State) -> Value {
    let mut flags: Vec<&Flag> = state.flags.iter().filter(|f| !f.deleted).collect();
    flags.sort_by(|a, b| a.key.cmp(&b.key));
    let flags: Vec<Value> = flags
        .iter()
        .map(|f| {
            json!({
                "id": f.id, "team_id": 1, "name": f.name, "key": f.key, "filters": f.filters,
                "deleted": f.deleted, "active": f.active,
                "ensure_experience_continuity": f.ensure_experience_continuity, "version": f.version,
                "evaluation_runtime": "all", "bucketing_identifier": "distinct_id",
                "evaluation_contexts": [], "has_experiment": state.experiments.iter().any(|e| !e.deleted && e.feature_flag_key == f.key),
            })
        })
        .collect();
    json!({ "flags": flags, "group_type_mapping": {}, "cohorts": {} })
}

/// The project token of a public-endpoint body (`token`, `api_key` or `$token`) must match.
fn check_token(body: &Value, token: &str) -> Result<(), Resp> {
    let sent = ["token", "api_key", "$token"]
        .iter()
        .find_map(|k| body[*k].as_str());
    if sent == Some(token) {
        return Ok(());
    }
    Err(Resp::error(
        401,
        "authentication_error",
        "invalid_api_key",
        "Project API key invalid. You can find your project API key in PostHog project settings.",
        None,
    ))
}

/// One flag's answer in `/flags`.
struct Answer {
    enabled: bool,
    variant: Option<String>,
    code: &'static str,
    condition_index: Option<usize>,
    description: String,
    payload: Option<String>,
    failed: bool,
}

/// The `reason.code` PostHog's `/flags` uses for an evaluator reason. Flags the local evaluator
/// cannot decide (the server would, with its person and cohort stores, which the emulator does
/// not have) answer `false` with the code `emulator_inconclusive`, so a test notices.
fn answer(eval: &Evaluation<'_>) -> Answer {
    let (code, condition_index, description) = match eval.reason {
        Reason::ConditionMatch { index } => (
            "condition_match",
            Some(index),
            format!("Matched condition set {}", index + 1),
        ),
        Reason::OutOfRollout { index } => (
            "out_of_rollout_bound",
            Some(index),
            "Out of rollout bound".into(),
        ),
        Reason::NoConditionMatch => (
            "no_condition_match",
            None,
            "No matching condition set".into(),
        ),
        Reason::Disabled => ("flag_disabled", None, "Feature flag is disabled".into()),
        Reason::Holdout => (
            "holdout_condition_value",
            None,
            "Holdout condition value".into(),
        ),
        Reason::FeatureEnrollment => (
            "super_condition_value",
            None,
            "Super condition value".into(),
        ),
        Reason::GroupNotProvided => ("no_group_type", None, "No group type".into()),
        Reason::Inconclusive(why) => ("emulator_inconclusive", None, why.as_str().into()),
        Reason::FlagNotFound | Reason::Error => {
            ("error", None, "Error while computing the flag".into())
        }
    };
    Answer {
        enabled: eval.value.is_some_and(|v| v.is_enabled()),
        variant: eval.value.and_then(|v| v.variant().map(str::to_owned)),
        code,
        condition_index,
        description,
        // `metadata.payload` is a JSON-encoded string, as PostHog sends it.
        payload: eval.payload.map(Value::to_string),
        failed: matches!(eval.reason, Reason::Error),
    }
}

/// `POST /flags` (`v=2` shape, or the legacy shape without it), evaluated by `crate::eval`.
pub(crate) fn flags(state: &State, req: &Req, body: &Value, token: &str) -> Resp {
    if let Err(r) = check_token(body, token) {
        return r;
    }
    if body["distinct_id"].as_str().is_none_or(str::is_empty) {
        return Resp::validation(
            "invalid_input",
            "distinct_id is required",
            Some("distinct_id"),
        );
    }
    let request_id = format!("emulator-{}", state.log.total());
    let v2 = req
        .param("v")
        .is_some_and(|v| v.parse::<u32>().is_ok_and(|v| v >= 2));
    if state.knobs.quota_limited {
        return if v2 {
            Resp::ok(
                &json!({ "flags": {}, "errorsWhileComputingFlags": false, "quotaLimited": ["feature_flags"], "requestId": request_id }),
            )
        } else {
            Resp::ok(
                &json!({ "featureFlags": {}, "featureFlagPayloads": {}, "errorsWhileComputingFlags": false, "quotaLimited": ["feature_flags"] }),
            )
        };
    }
    let only: Option<Vec<&str>> = body["flag_keys"]
        .as_array()
        .or(body["flag_keys_to_evaluate"].as_array())
        .map(|v| v.iter().filter_map(Value::as_str).collect());
    // The runtime's own evaluator (crate::eval) over the same definitions `/flags/definitions`
    // serves: remote and local evaluation agree by construction.
    let Ok(snapshot) = Snapshot::from_value(&definitions_body(state)) else {
        return Resp::ok(
            &json!({ "flags": {}, "errorsWhileComputingFlags": true, "requestId": request_id }),
        );
    };
    let person = Properties::from_json(&body["person_properties"]);
    let group_props: Vec<(String, String, Properties)> = body["groups"]
        .as_object()
        .map(|groups| {
            groups
                .iter()
                .filter_map(|(kind, key)| {
                    let key = key
                        .as_str()
                        .map(str::to_owned)
                        .or_else(|| key.as_i64().map(|n| n.to_string()))?;
                    Some((
                        kind.clone(),
                        key,
                        Properties::from_json(&body["group_properties"][kind]),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let groups: Vec<Group<'_>> = group_props
        .iter()
        .map(|(kind, key, props)| Group::new(kind, key, props))
        .collect();
    let distinct_id = body["distinct_id"].as_str().unwrap_or_default();
    let mut ctx = EvalContext::new(distinct_id, &person).with_groups(&groups);
    if let Some(device) = body["device_id"].as_str() {
        ctx = ctx.with_device_id(device);
    }
    let mut details = Map::new();
    let mut legacy = Map::new();
    let mut errors = false;
    for f in state.flags.iter().filter(|f| !f.deleted) {
        if only.as_ref().is_some_and(|o| !o.contains(&f.key.as_str())) {
            continue;
        }
        let a = answer(&snapshot.evaluate(&f.key, &ctx));
        errors |= a.failed;
        let mut detail = json!({
            "key": f.key, "enabled": a.enabled, "variant": a.variant,
            "reason": { "code": a.code, "condition_index": a.condition_index, "description": a.description },
            "metadata": { "id": f.id, "version": f.version, "description": f.name, "payload": a.payload },
        });
        if a.failed {
            detail["failed"] = json!(true);
        }
        details.insert(f.key.clone(), detail);
        legacy.insert(
            f.key.clone(),
            a.variant.map_or(json!(a.enabled), Value::from),
        );
    }
    if v2 {
        Resp::ok(
            &json!({ "flags": details, "errorsWhileComputingFlags": errors, "requestId": request_id, "evaluatedAt": super::state::now_ms() }),
        )
    } else {
        Resp::ok(
            &json!({ "featureFlags": legacy, "featureFlagPayloads": {}, "errorsWhileComputingFlags": errors }),
        )
    }
}

/// `POST /batch/` and `POST /i/v0/e/`: stores events (de-duplicated by `uuid`); events without a
/// name or distinct id are dropped silently, as PostHog does.
pub(crate) fn capture(state: &mut State, body: &Value, token: &str, single: bool) -> Resp {
    if let Err(r) = check_token(body, token) {
        return r;
    }
    let items: Vec<Value> = if single {
        vec![body.clone()]
    } else {
        body["batch"].as_array().cloned().unwrap_or_default()
    };
    for item in &items {
        store_event(state, item);
    }
    Resp::ok(&json!({ "status": "Ok" }))
}

/// Stores one event (from capture or a seed); returns whether it was new.
pub(crate) fn store_event(state: &mut State, item: &Value) -> bool {
    let properties = item["properties"].as_object().cloned().unwrap_or_default();
    let Some(event) = item["event"].as_str().filter(|e| !e.is_empty()) else {
        return false;
    };
    let distinct_id = item["distinct_id"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| item["distinct_id"].as_i64().map(|n| n.to_string()))
        .or_else(|| {
            properties
                .get("distinct_id")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    let Some(distinct_id) = distinct_id.filter(|d| !d.is_empty()) else {
        return false;
    };
    let uuid = match item["uuid"].as_str() {
        Some(u) => u.to_owned(),
        None => format!("emulator-{}", state.id()),
    };
    if !state.event_uuids.insert(uuid.clone()) {
        return false;
    }
    let timestamp = match item["timestamp"].as_str().and_then(parse_iso) {
        Some(ts) => ts,
        None => state.now_ms(),
    };
    state.events.push(Event {
        uuid,
        event: event.to_owned(),
        distinct_id,
        properties,
        timestamp,
    });
    true
}
