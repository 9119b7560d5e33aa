//! The query engine: recognises the guard job's query and computes it over stored events.
//!
//! It does not parse HogQL. It answers exactly one shape ([`crate::client::GUARD_QUERY`],
//! compared with whitespace collapsed), computing the documented semantics from the events it
//! holds; it rejects the broken ``properties[`…`]`` form with PostHog's own 400; and it refuses
//! every other query with the distinct code [`UNSUPPORTED_CODE`], so a test notices.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::state::{Event, State, parse_iso};
use crate::client::{GUARD_QUERY, MULTIPLE_VARIANTS};

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
        "outcome",
        "users",
        "exposure_events",
        "users_with_events",
        "events",
        "successes",
        "events_squared",
        "successes_squared",
        "events_by_successes",
    ];
    let types: Vec<Value> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| json!([c, if i < 2 { "String" } else { "UInt64" }]))
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

/// The person behind a distinct id. The emulator keeps no identify or alias merges, so each
/// distinct id is its own person, as in PostHog before any `$identify`.
fn person_of(e: &Event) -> &str {
    &e.distinct_id
}

/// `JSONExtractRaw(properties, key)`: the property's JSON text, `''` when absent.
fn json_raw(properties: &Map<String, Value>, key: &str) -> String {
    properties
        .get(key)
        .map(|v| serde_json::to_string(v).unwrap_or_default())
        .unwrap_or_default()
}

/// `toDateTime(x)`: `None` (NULL) for what does not parse, which no comparison matches.
fn datetime(v: Option<&Value>) -> Option<i64> {
    parse_iso(&to_string(v?))
}

/// One exposed person of one flag.
struct Exposed {
    arms: BTreeSet<String>,
    first: i64,
    exposures: u64,
}

/// Per-arm, per-outcome sums over persons.
#[derive(Default)]
struct Sums {
    users: u64,
    exposure_events: u64,
    users_with_events: u64,
    events: u64,
    successes: u64,
    events_squared: u64,
    successes_squared: u64,
    events_by_successes: u64,
}

/// The guard query's semantics (documented on [`GUARD_QUERY`]).
fn guard(events: &[Event], values: &Map<String, Value>) -> Result<Vec<Value>, (u16, Value)> {
    let flag_keys = strings(placeholder(values, "flag_keys")?);
    let flag_since = match placeholder(values, "flag_since")? {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let outcome_events = strings(placeholder(values, "outcome_events")?);
    let success_properties = strings(placeholder(values, "outcome_success_properties")?);
    let since = datetime(Some(placeholder(values, "since")?));
    let until = datetime(Some(placeholder(values, "until")?));
    // indexOf gives the first position; arrayElement past the end gives '' (NULL as a time).
    let start_of = |flag: &str| -> Option<i64> {
        let i = flag_keys.iter().position(|k| k == flag)?;
        datetime(flag_since.get(i))
    };

    // (flag, person) → arms seen, first exposure, exposure events.
    let mut exposed: BTreeMap<(String, String), Exposed> = BTreeMap::new();
    for e in events.iter().filter(|e| e.event == "$feature_flag_called") {
        let flag = to_string(e.properties.get("$feature_flag").unwrap_or(&Value::Null));
        if !flag_keys.contains(&flag) {
            continue;
        }
        let (Some(start), Some(until)) = (start_of(&flag), until) else {
            continue;
        };
        if e.timestamp < start || e.timestamp >= until {
            continue;
        }
        let arm = to_string(
            e.properties
                .get("$feature_flag_response")
                .unwrap_or(&Value::Null),
        );
        let entry = exposed
            .entry((flag, person_of(e).to_owned()))
            .or_insert(Exposed {
                arms: BTreeSet::new(),
                first: e.timestamp,
                exposures: 0,
            });
        entry.arms.insert(arm);
        entry.first = entry.first.min(e.timestamp);
        entry.exposures += 1;
    }
    // person → (outcome index from 1, time, success) of outcome events in [since, until).
    let mut outcomes: BTreeMap<&str, Vec<(usize, i64, bool)>> = BTreeMap::new();
    if let (Some(since), Some(until)) = (since, until) {
        for e in events
            .iter()
            .filter(|e| e.timestamp >= since && e.timestamp < until)
        {
            for (i, name) in outcome_events.iter().enumerate() {
                if *name != e.event {
                    continue;
                }
                let property = success_properties.get(i).map(String::as_str).unwrap_or("");
                let success = property.is_empty()
                    || matches!(
                        json_raw(&e.properties, property).as_str(),
                        "true" | "1" | "\"true\""
                    );
                outcomes
                    .entry(person_of(e))
                    .or_default()
                    .push((i + 1, e.timestamp, success));
            }
        }
    }
    let mut sums: BTreeMap<(String, String, usize), Sums> = BTreeMap::new();
    for ((flag, person), x) in &exposed {
        let arm = if x.arms.len() > 1 {
            MULTIPLE_VARIANTS.to_owned()
        } else {
            x.arms.iter().next().cloned().unwrap_or_default()
        };
        let mine = outcomes
            .get(person.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        for outcome in 1..=outcome_events.len() {
            let (mut n, mut s) = (0u64, 0u64);
            for (i, t, success) in mine {
                if *i == outcome && *t >= x.first {
                    n += 1;
                    s += u64::from(*success);
                }
            }
            let row = sums
                .entry((flag.clone(), arm.clone(), outcome))
                .or_default();
            row.users += 1;
            row.exposure_events += x.exposures;
            row.users_with_events += u64::from(n > 0);
            row.events += n;
            row.successes += s;
            row.events_squared += n * n;
            row.successes_squared += s * s;
            row.events_by_successes += n * s;
        }
    }
    Ok(sums
        .into_iter()
        .map(|((flag, arm, outcome), r)| {
            json!([
                flag,
                arm,
                outcome,
                r.users,
                r.exposure_events,
                r.users_with_events,
                r.events,
                r.successes,
                r.events_squared,
                r.successes_squared,
                r.events_by_successes
            ])
        })
        .collect())
}
