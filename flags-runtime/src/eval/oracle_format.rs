//! The oracle's file formats (`../shared/tools/posthog-oracle`), so the evaluator can be
//! checked against posthog-python case by case and `flagsync eval --input FILE` can print
//! the same lines.
//!
//! Input: `{"definitions": <the /flags/definitions body>, "users": {"<distinct_id>":
//! {"person_properties", "groups", "group_properties"}}, "cases": [{"flag", "distinct_id",
//! "person_properties"?, "groups"?, "group_properties"?}]}`; a case field that is absent or
//! null is taken from `users[distinct_id]`.
//!
//! Output, one JSON object per case, in order: `{"i", "flag", "distinct_id", "value",
//! "payload", "inconclusive", "reason"}`, `reason` being `null` for a decided flag, the
//! [`InconclusiveReason`](super::InconclusiveReason) string, `"flag_not_found"`, or `null` for a definition error (as the
//! SDK, which has no reason for an unexpected error).

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::operators::{python_str, write_python_float};
use super::{
    CompileError, EMPTY_PROPERTIES, EvalContext, Evaluation, FlagValue, Group, Properties, Reason,
    Snapshot,
};

/// Why an oracle input file could not be run.
#[derive(Debug)]
pub struct InputError(String);

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid oracle input: {}", self.0)
    }
}

impl std::error::Error for InputError {}

impl From<CompileError> for InputError {
    fn from(e: CompileError) -> Self {
        InputError(e.to_string())
    }
}

/// One case's result, in the oracle's output shape.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseResult {
    /// Case index.
    pub i: usize,
    /// Flag key as given.
    pub flag: Value,
    /// Distinct id as given.
    pub distinct_id: Value,
    /// `true`, `false`, a variant string, or `null` when inconclusive.
    pub value: Value,
    /// The decoded payload, or `null`.
    pub payload: Value,
    /// No local answer (the SDK would ask the server).
    pub inconclusive: bool,
    /// `null` or the reason string.
    pub reason: Value,
}

impl CaseResult {
    /// The oracle's JSON line (compact, `ensure_ascii` as Python's `json.dumps`).
    pub fn to_line(&self) -> String {
        let mut s = String::with_capacity(128);
        s.push_str("{\"i\":");
        let _ = write!(s, "{}", self.i);
        for (name, v) in [
            ("flag", &self.flag),
            ("distinct_id", &self.distinct_id),
            ("value", &self.value),
            ("payload", &self.payload),
            ("inconclusive", &Value::Bool(self.inconclusive)),
            ("reason", &self.reason),
        ] {
            s.push_str(",\"");
            s.push_str(name);
            s.push_str("\":");
            write_python_json(&mut s, v);
        }
        s.push('}');
        s
    }

    /// The same record as a JSON value.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("i".into(), Value::from(self.i));
        m.insert("flag".into(), self.flag.clone());
        m.insert("distinct_id".into(), self.distinct_id.clone());
        m.insert("value".into(), self.value.clone());
        m.insert("payload".into(), self.payload.clone());
        m.insert("inconclusive".into(), Value::Bool(self.inconclusive));
        m.insert("reason".into(), self.reason.clone());
        Value::Object(m)
    }
}

/// `json.dumps(v, separators=(",", ":"))`: ASCII-only, Python float repr.
fn write_python_json(s: &mut String, v: &Value) {
    match v {
        Value::Null => s.push_str("null"),
        Value::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if n.is_f64() {
                let _ = write_python_float(s, n.as_f64().unwrap_or(f64::NAN));
            } else {
                let _ = write!(s, "{n}");
            }
        }
        Value::String(t) => {
            s.push('"');
            for c in t.chars() {
                match c {
                    '"' => s.push_str("\\\""),
                    '\\' => s.push_str("\\\\"),
                    '\n' => s.push_str("\\n"),
                    '\r' => s.push_str("\\r"),
                    '\t' => s.push_str("\\t"),
                    '\u{8}' => s.push_str("\\b"),
                    '\u{c}' => s.push_str("\\f"),
                    c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                        let mut units = [0u16; 2];
                        for u in c.encode_utf16(&mut units) {
                            let _ = write!(s, "\\u{:04x}", u);
                        }
                    }
                    c => s.push(c),
                }
            }
            s.push('"');
        }
        Value::Array(items) => {
            s.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                write_python_json(s, item);
            }
            s.push(']');
        }
        Value::Object(map) => {
            s.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                write_python_json(s, &Value::String(k.clone()));
                s.push(':');
                write_python_json(s, item);
            }
            s.push('}');
        }
    }
}

/// A resolved evaluation subject (person properties and groups built once).
struct Subject {
    person: Properties,
    groups: Vec<(String, String)>,
    group_props: Vec<(String, Properties)>,
}

fn object(v: Option<&Value>) -> Option<&Map<String, Value>> {
    v.and_then(Value::as_object)
}

impl Subject {
    fn build(person: Option<&Value>, groups: Option<&Value>, group_props: Option<&Value>) -> Self {
        let person = object(person)
            .map(Properties::from_json_map)
            .unwrap_or_default();
        let groups: Vec<(String, String)> = object(groups)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), python_str(v))).collect())
            .unwrap_or_default();
        let group_props = object(group_props)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), Properties::from_json(v)))
                    .collect()
            })
            .unwrap_or_default();
        Subject {
            person,
            groups,
            group_props,
        }
    }

    fn evaluate<'s>(&self, snap: &'s Snapshot, flag: &str, distinct_id: &str) -> Evaluation<'s> {
        let groups: Vec<Group<'_>> = self
            .groups
            .iter()
            .map(|(t, key)| Group {
                group_type: t,
                key,
                properties: self
                    .group_props
                    .iter()
                    .find(|(n, _)| n == t)
                    .map_or(&EMPTY_PROPERTIES, |(_, p)| p),
            })
            .collect();
        let ctx = EvalContext::new(distinct_id, &self.person).with_groups(&groups);
        snap.evaluate(flag, &ctx)
    }
}

/// Turns an evaluation into the oracle's record fields.
pub fn record(i: usize, flag: &Value, distinct_id: &Value, e: &Evaluation<'_>) -> CaseResult {
    let value = match e.value {
        None => Value::Null,
        Some(FlagValue::Bool(b)) => Value::Bool(b),
        Some(FlagValue::Variant(v)) => Value::String(v.to_owned()),
    };
    let reason = match e.reason {
        Reason::Inconclusive(r) => Value::String(r.as_str().to_owned()),
        Reason::FlagNotFound => Value::String("flag_not_found".to_owned()),
        _ => Value::Null,
    };
    CaseResult {
        i,
        flag: flag.clone(),
        distinct_id: distinct_id.clone(),
        value,
        payload: e.payload.cloned().unwrap_or(Value::Null),
        inconclusive: e.value.is_none(),
        reason,
    }
}

/// Runs every case of an oracle input document.
pub fn run_value(doc: &Value) -> Result<Vec<CaseResult>, InputError> {
    let defs = doc
        .get("definitions")
        .ok_or_else(|| InputError("no \"definitions\"".into()))?;
    let snap = Snapshot::from_value(defs)?;
    let cases = doc
        .get("cases")
        .and_then(Value::as_array)
        .ok_or_else(|| InputError("no \"cases\" list".into()))?;
    let users = object(doc.get("users"));
    let mut subjects: HashMap<String, Subject> = HashMap::new();
    let mut out = Vec::with_capacity(cases.len());
    for (i, case) in cases.iter().enumerate() {
        let flag = case.get("flag").cloned().unwrap_or(Value::Null);
        let did_value = case.get("distinct_id").cloned().unwrap_or(Value::Null);
        let did = python_str(&did_value);
        let user = users.and_then(|u| u.get(&did));
        let field = |name: &str| case.get(name).filter(|v| !v.is_null());
        let inline = ["person_properties", "groups", "group_properties"]
            .iter()
            .any(|f| field(f).is_some());
        let flag_key = flag.as_str().unwrap_or("\u{0}");
        let e = if inline {
            let pick = |name: &str| field(name).or_else(|| user.and_then(|u| u.get(name)));
            let s = Subject::build(
                pick("person_properties"),
                pick("groups"),
                pick("group_properties"),
            );
            s.evaluate(&snap, flag_key, &did)
        } else {
            let s = subjects.entry(did.clone()).or_insert_with(|| {
                Subject::build(
                    user.and_then(|u| u.get("person_properties")),
                    user.and_then(|u| u.get("groups")),
                    user.and_then(|u| u.get("group_properties")),
                )
            });
            s.evaluate(&snap, flag_key, &did)
        };
        out.push(record(i, &flag, &did_value, &e));
    }
    Ok(out)
}

/// Runs an oracle input file's text; returns one output line per case.
pub fn run(input: &str) -> Result<Vec<String>, InputError> {
    let doc: Value = serde_json::from_str(input).map_err(|e| InputError(e.to_string()))?;
    Ok(run_value(&doc)?.iter().map(CaseResult::to_line).collect())
}
