//! The query engine: recognises the guard job's query and computes it over stored events.
//!
//! It does not parse HogQL. It answers exactly one shape ([`crate::client::GUARD_QUERY`],
//! compared with whitespace collapsed), computing the documented semantics from the events it
//! holds; it rejects the broken ``properties[`…`]`` form with PostHog's own 400; and it refuses
//! every other query with the distinct code [`UNSUPPORTED_CODE`], so a test notices.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::state::{Event, State, parse_iso};
use crate::client::GUARD_QUERY;

/// Error code of a query shape the emulator cannot compute.
pub const UNSUPPORTED_CODE: &str = "emulator_unsupported_query";

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// ``properties[`x`]``: the identifier-in-brackets form PostHog cannot resolve.
fn unresolvable_field(query: &str) -> Option<String> {
    let start = query.find("properties[`")? + "properties[`".len();
    let rest = &query[start..];
    let end = rest.find("`]")?;
    Some(rest[..end].to_owned())
}

/// Answers a `{"query": {...}}` body: `Ok(response)` or `Err(status, body)`.
pub(crate) fn run(state: &State, body: &Value) -> Result<Value, (u16, Value)> {
    let q = &body["query"];
    let kind = q["kind"].as_str().unwrap_or_default();
    let text = q["query"].as_str().unwrap_or_default();
    if kind != "HogQLQuery" {
        return Err(unsupported(&format!(
            "query kind {kind:?} is not supported by the emulator"
        )));
    }
    if let Some(field) = unresolvable_field(text) {
        return Err((
            400,
            json!({ "type": "validation_error", "code": "invalid_input",
                    "detail": format!("Unable to resolve field: {field}"), "attr": null }),
        ));
    }
    if collapse(text) != collapse(GUARD_QUERY) {
        return Err(unsupported(
            "the emulator computes only the guard query (client::GUARD_QUERY)",
        ));
    }
    let values = q["values"].as_object().cloned().unwrap_or_default();
    let rows = guard(&state.events, &values)?;
    let columns = [
        "flag",
        "variant",
        "outcome_event",
        "exposed_users",
        "outcome_events",
        "successes",
        "users_with_outcome",
    ];
    let types: Vec<Value> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| json!([c, if i < 3 { "String" } else { "UInt64" }]))
        .collect();
    Ok(json!({
        "columns": columns, "types": types, "results": rows, "hasMore": false, "limit": 50000,
        "offset": 0, "hogql": collapse(text), "is_cached": false, "modifiers": {}, "timings": [],
    }))
}

fn unsupported(detail: &str) -> (u16, Value) {
    (
        400,
        json!({ "type": "invalid_request", "code": UNSUPPORTED_CODE, "detail": detail, "attr": null }),
    )
}

fn placeholder<'a>(values: &'a Map<String, Value>, name: &str) -> Result<&'a Value, (u16, Value)> {
    values.get(name).ok_or_else(|| {
        (
            400,
            json!({ "type": "validation_error", "code": "invalid_input",
                    "detail": format!("Placeholder {{{name}}} is not available in this context."), "attr": null }),
        )
    })
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().map(to_string).collect(),
        other => vec![to_string(other)],
    }
}

/// HogQL's `toString` of a JSON property.
fn to_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// The guard query's semantics (documented on [`GUARD_QUERY`]).
fn guard(events: &[Event], values: &Map<String, Value>) -> Result<Vec<Value>, (u16, Value)> {
    let flag_keys: BTreeSet<String> = strings(placeholder(values, "flag_keys")?)
        .into_iter()
        .collect();
    let outcome_events: BTreeSet<String> = strings(placeholder(values, "outcome_events")?)
        .into_iter()
        .collect();
    let success_property = to_string(placeholder(values, "success_property")?);
    // toDateTime of an unparsable string is NULL, and comparisons with NULL are false.
    let since = parse_iso(&to_string(placeholder(values, "since")?));
    let until = parse_iso(&to_string(placeholder(values, "until")?));
    let (Some(since), Some(until)) = (since, until) else {
        return Ok(Vec::new());
    };
    let in_window = |e: &Event| e.timestamp >= since && e.timestamp < until;

    // (flag, variant) → user → first exposure.
    let mut exposed: BTreeMap<(String, String), BTreeMap<String, i64>> = BTreeMap::new();
    for e in events
        .iter()
        .filter(|e| e.event == "$feature_flag_called" && in_window(e))
    {
        let flag = to_string(e.properties.get("$feature_flag").unwrap_or(&Value::Null));
        if !flag_keys.contains(&flag) {
            continue;
        }
        let variant = to_string(
            e.properties
                .get("$feature_flag_response")
                .unwrap_or(&Value::Null),
        );
        let first = exposed
            .entry((flag, variant))
            .or_default()
            .entry(e.distinct_id.clone())
            .or_insert(e.timestamp);
        *first = (*first).min(e.timestamp);
    }
    // user → outcome events in the window.
    let mut outcomes: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    for e in events
        .iter()
        .filter(|e| outcome_events.contains(&e.event) && in_window(e))
    {
        outcomes.entry(e.distinct_id.as_str()).or_default().push(e);
    }
    let mut rows = Vec::new();
    for ((flag, variant), users) in &exposed {
        for outcome in &outcome_events {
            let (mut n_events, mut n_success, mut n_users) = (0u64, 0u64, 0u64);
            for (user, first) in users {
                let mine = outcomes
                    .get(user.as_str())
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                let hits: Vec<&&Event> = mine
                    .iter()
                    .filter(|e| &e.event == outcome && e.timestamp >= *first)
                    .collect();
                let successes = hits
                    .iter()
                    .filter(|e| {
                        let v =
                            to_string(e.properties.get(&success_property).unwrap_or(&Value::Null));
                        v == "true" || v == "1"
                    })
                    .count() as u64;
                n_events += hits.len() as u64;
                n_success += successes;
                n_users += u64::from(!hits.is_empty());
            }
            rows.push(json!([
                flag,
                variant,
                outcome,
                users.len() as u64,
                n_events,
                n_success,
                n_users
            ]));
        }
    }
    Ok(rows)
}
