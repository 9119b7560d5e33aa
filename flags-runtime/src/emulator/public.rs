//! Public-host endpoints: `/flags/definitions`, `/flags`, `/batch/` and `/i/v0/e/`.

use std::hash::{Hash, Hasher};

use serde_json::{Map, Value, json};

use super::http::{Req, Resp};
use super::state::{Event, Flag, State, parse_iso};

/// `GET /flags/definitions`: every non-deleted flag (inactive included), ordered by key, with
/// an ETag; `If-None-Match` with the current ETag answers 304; the quota knob answers 402.
pub(crate) fn definitions(state: &State) -> (Resp, String) {
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
    let body = json!({ "flags": flags, "group_type_mapping": {}, "cohorts": {} });
    let text = body.to_string();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    let etag = format!("\"{:016x}\"", h.finish());
    let mut resp = Resp::ok(&body);
    resp.headers.push(("etag", etag.clone()));
    (resp, etag)
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

/// How the emulator evaluates one flag for `/flags`.
///
/// **Placeholder until the runtime's evaluator (`crate::eval`) exists:** a flag is enabled only
/// when it is active and has a condition with no property filters at 100% rollout (missing
/// `rollout_percentage` counts as 100), i.e. only when the answer does not depend on hashing. A
/// multivariate flag then answers its variant at 100% (or the condition's variant override),
/// and is disabled otherwise. Everything else is `enabled: false` with reason
/// `no_condition_match` (or `flag_disabled`). Replace the body of this function with a call to
/// the real evaluator; the endpoint around it does not change.
pub(crate) fn evaluate(flag: &Flag, _request: &Value) -> (bool, Option<String>, &'static str) {
    if !flag.active {
        return (false, None, "flag_disabled");
    }
    let groups = flag.filters["groups"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let full = groups.iter().find(|g| {
        g["properties"].as_array().is_none_or(Vec::is_empty)
            && g["rollout_percentage"].as_f64().unwrap_or(100.0) >= 100.0
    });
    let Some(group) = full else {
        return (false, None, "no_condition_match");
    };
    let variants = flag.filters["multivariate"]["variants"].as_array();
    match variants {
        None => (true, None, "condition_match"),
        Some(vs) if vs.is_empty() => (true, None, "condition_match"),
        Some(vs) => {
            let chosen = group["variant"].as_str().map(str::to_owned).or_else(|| {
                vs.iter()
                    .find(|v| v["rollout_percentage"].as_f64() == Some(100.0))
                    .and_then(|v| v["key"].as_str().map(str::to_owned))
            });
            match chosen {
                Some(v) => (true, Some(v), "condition_match"),
                None => (false, None, "no_condition_match"),
            }
        }
    }
}

/// `POST /flags` (`v=2` shape, or the legacy shape without it).
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
    let mut details = Map::new();
    let mut legacy = Map::new();
    for f in state.flags.iter().filter(|f| !f.deleted && !f.archived) {
        if only.as_ref().is_some_and(|o| !o.contains(&f.key.as_str())) {
            continue;
        }
        let (enabled, variant, code) = evaluate(f, body);
        let payload_key = variant.clone().unwrap_or_else(|| "true".into());
        let payload = if enabled {
            f.filters["payloads"][&payload_key].clone()
        } else {
            Value::Null
        };
        details.insert(
            f.key.clone(),
            json!({
                "key": f.key, "enabled": enabled, "variant": variant,
                "reason": { "code": code, "condition_index": if enabled { json!(0) } else { Value::Null }, "description": code },
                "metadata": { "id": f.id, "version": f.version, "description": f.name, "payload": payload },
            }),
        );
        legacy.insert(f.key.clone(), variant.map_or(json!(enabled), Value::from));
    }
    if v2 {
        Resp::ok(
            &json!({ "flags": details, "errorsWhileComputingFlags": false, "requestId": request_id, "evaluatedAt": super::state::now_ms() }),
        )
    } else {
        Resp::ok(
            &json!({ "featureFlags": legacy, "featureFlagPayloads": {}, "errorsWhileComputingFlags": false }),
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
