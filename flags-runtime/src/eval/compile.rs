//! Definitions → [`Snapshot`]: every operand parsed, every regex compiled, cohorts and flag
//! dependencies resolved to indices, payloads decoded, once per definitions change.
//!
//! Compilation never fails on a malformed flag: the flag is compiled to behave as the
//! reference SDK behaves on it (an unsupported definition, an evaluation error, or a field
//! ignored). Only a document that is not a definitions object at all is rejected.

use std::collections::HashMap;

use regex::Regex;
use serde_json::{Map, Value};

use super::bucket::HashPrefix;
use super::definitions::Definitions;
use super::operators::{
    self, RelUnit, Semver, caret_bounds, json_truthy, json_truthy_or_falsy, parse_numeric_json,
    parse_relative, parse_semver, python_str, scan_regex, tilde_bounds, value_to_string,
    wildcard_bounds,
};
use super::{FlagId, Snapshot};

/// Why a definitions document could not be compiled at all.
#[derive(Debug)]
pub struct CompileError {
    message: String,
}

impl CompileError {
    /// The reason, for logs.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid flag definitions: {}", self.message)
    }
}

impl std::error::Error for CompileError {}

impl From<serde_json::Error> for CompileError {
    fn from(e: serde_json::Error) -> Self {
        CompileError {
            message: e.to_string(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The compiled model (crate-private; the engine walks it)

#[derive(Debug)]
pub(crate) enum GroupName {
    /// The group type name.
    Name(Box<str>),
    /// The index is not in `group_type_mapping`.
    Unknown,
    /// A mapping value no caller group can match (not a string).
    Unmatchable,
}

#[derive(Debug)]
pub(crate) enum Aggregation {
    Person,
    Group(GroupName),
}

#[derive(Debug)]
pub(crate) enum Holdout {
    None,
    Held {
        percentage: f64,
        variant: Box<str>,
    },
    /// The SDK raises while reading it.
    Malformed,
}

#[derive(Debug)]
pub(crate) struct Variant {
    pub key: Box<str>,
    pub min: f64,
    pub max: f64,
}

#[derive(Debug)]
pub(crate) enum Rollout {
    All,
    Percent(f64),
    Malformed,
}

#[derive(Debug)]
pub(crate) enum CondAggregation {
    /// Same as the flag: the caller's scope and bucketing value.
    Same,
    /// A different group type than the flag's (mixed targeting).
    Group(GroupName),
}

#[derive(Debug)]
pub(crate) struct Condition {
    pub malformed: bool,
    pub aggregation: CondAggregation,
    pub filters: Vec<Filter>,
    pub filters_malformed: bool,
    pub rollout: Rollout,
    pub variant_override: Option<Box<str>>,
}

#[derive(Debug)]
pub(crate) enum Filter {
    Property(PropFilter),
    Cohort(CohortRef),
    Flag(DepFilter),
    /// Not an object: the SDK raises while reading it.
    Malformed,
}

#[derive(Debug)]
pub(crate) struct CohortRef {
    /// Index into the snapshot's cohorts; `None` for a cohort the definitions do not carry
    /// (a static cohort: only the server can answer).
    pub cohort: Option<u32>,
    pub operator: CohortOp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CohortOp {
    In,
    NotIn,
    Unsupported,
}

/// A flag or a missing flag a dependency names: `< flags.len()` is a flag index, above are
/// names with no definition.
pub(crate) type DepId = u32;

#[derive(Debug)]
pub(crate) struct DepFilter {
    /// Wrong operator, no key or no value: a definite no-match.
    pub malformed: bool,
    /// `None` when missing, not a list or empty (circular).
    pub chain: Option<Vec<DepId>>,
    pub target: DepId,
    pub expected: Value,
}

/// Deeper nesting than this is compiled as an evaluation error (the SDK would exceed
/// Python's recursion limit somewhere around here too), keeping compilation's stack bounded.
const MAX_NESTING: usize = 256;

#[derive(Debug)]
pub(crate) enum CohortNode {
    /// `{}`: matches.
    Empty,
    /// Nested beyond [`MAX_NESTING`].
    TooDeep,
    /// Not a valid property group: the SDK asks the server.
    Malformed,
    Group {
        and: bool,
        entries: Vec<CohortEntry>,
    },
}

#[derive(Debug)]
pub(crate) enum CohortEntry {
    NotObject,
    Nested(CohortNode),
    Filter { filter: Filter, negation: bool },
}

#[derive(Debug)]
pub(crate) struct PropFilter {
    /// `None` when the key is not a string (never present).
    pub key: Option<Box<str>>,
    /// The key's lookup prefix, computed once.
    pub key_prefix: super::context::KeyPrefix,
    pub op: Op,
    /// The SDK's `_assert_filter_supported` fails: a missing property is then reported as an
    /// unsupported definition rather than missing context.
    pub unsupported: bool,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum TextKind {
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Cmp {
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Debug)]
pub(crate) enum Exact {
    /// `value == []`: the override's truthiness.
    EmptyList,
    /// Legacy truthy/falsy matching.
    Truthy(bool),
    OneOf(Vec<Box<str>>),
    One(Box<str>),
}

#[derive(Debug)]
pub(crate) enum RegexOp {
    /// `""` matches everything.
    Empty,
    /// Python cannot compile it: never matches (nor does `not_regex`).
    Invalid,
    /// The SDK defers it to the server.
    Deferred,
    Compiled {
        re: Regex,
        word: bool,
        space: bool,
        end_anchor_and_repetition: bool,
    },
}

#[derive(Debug)]
pub(crate) enum DateOperand {
    Absolute(i64),
    Relative(i64, RelUnit),
    /// A bare year: completed with today's month and day at evaluation.
    Year(Box<str>),
    Invalid,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum SemverOp {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    Range,
}

#[derive(Debug)]
pub(crate) enum Op {
    Unknown,
    IsSet,
    IsNotSet,
    Exact {
        negate: bool,
        m: Exact,
    },
    Text {
        kind: TextKind,
        negate: bool,
        needle: Box<str>,
    },
    Regex {
        negate: bool,
        re: RegexOp,
    },
    Number {
        cmp: Cmp,
        operand: Option<f64>,
    },
    Date {
        before: bool,
        operand: DateOperand,
    },
    Semver {
        op: SemverOp,
        operand: Option<(Semver, Semver)>,
    },
}

#[derive(Debug)]
pub(crate) struct CompiledFlag {
    pub key: Box<str>,
    pub active: bool,
    pub continuity: bool,
    /// `filters` is not an object: the SDK raises.
    pub malformed: bool,
    pub aggregation: Aggregation,
    pub device_bucketing: bool,
    pub enrollment: bool,
    pub enrollment_key: Box<str>,
    pub holdout: Holdout,
    pub conditions: Vec<Condition>,
    /// `None` when the variant list is malformed (the SDK raises when it needs it).
    pub variants: Option<Vec<Variant>>,
    /// Every variant has a `key` (else the SDK raises before any condition).
    pub variant_keys_ok: bool,
    pub early_exit: bool,
    /// Decoded payloads by flag value (`"true"`, `"false"`, a variant key).
    pub payloads: Vec<(Box<str>, Value)>,
    /// The SDK's definition-level unresolved reason is "unsupported definition".
    pub unsupported_definition: bool,
    pub hash: HashPrefix,
}

// ---------------------------------------------------------------------------------------

/// Python truthiness of a JSON value.
fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

/// A number as Python sees it (bools are 0 and 1).
fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

/// Python `==` on JSON scalars (numbers numerically, `True == 1`).
fn py_eq(a: &Value, b: &Value) -> bool {
    match (as_number(a), as_number(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

struct Compiler<'d> {
    defs: &'d Definitions,
    flag_index: HashMap<String, u32>,
    cohort_index: HashMap<String, u32>,
    missing: HashMap<String, DepId>,
    n_flags: u32,
    property_matching_v2: bool,
}

impl<'d> Compiler<'d> {
    fn dep_id(&mut self, key: &Value) -> DepId {
        if let Value::String(s) = key
            && let Some(&i) = self.flag_index.get(s)
        {
            return i;
        }
        let name = match key {
            Value::String(s) => s.clone(),
            other => format!("\u{0}{other}"),
        };
        let next = self.n_flags + self.missing.len() as u32;
        *self.missing.entry(name).or_insert(next)
    }

    fn group_name(&self, index: &Value) -> GroupName {
        let idx = python_str(index);
        match self.defs.group_type_mapping.get(&idx) {
            Some(Value::String(s)) if !s.is_empty() => GroupName::Name(s.as_str().into()),
            Some(v) if truthy(Some(v)) => GroupName::Unmatchable,
            _ => GroupName::Unknown,
        }
    }

    fn filter(&mut self, prop: &Value) -> Filter {
        let Value::Object(p) = prop else {
            return Filter::Malformed;
        };
        match p.get("type").and_then(Value::as_str) {
            Some("cohort") => Filter::Cohort(self.cohort_ref(p)),
            Some("flag") => Filter::Flag(self.dep_filter(p)),
            _ => Filter::Property(self.prop_filter(p)),
        }
    }

    fn cohort_ref(&mut self, p: &Map<String, Value>) -> CohortRef {
        let id = python_str(p.get("value").unwrap_or(&Value::Null));
        let operator = match p.get("operator") {
            v if !truthy(v) => CohortOp::In,
            Some(Value::String(s)) if s == "exact" || s == "in" => CohortOp::In,
            Some(Value::String(s)) if s == "not_in" => CohortOp::NotIn,
            _ => CohortOp::Unsupported,
        };
        CohortRef {
            cohort: self.cohort_index.get(&id).copied(),
            operator,
        }
    }

    fn dep_filter(&mut self, p: &Map<String, Value>) -> DepFilter {
        let op_ok = match p.get("operator") {
            None => false, // defaults to "exact"
            Some(v) => v.as_str() == Some("flag_evaluates_to"),
        };
        let key = p.get("key").unwrap_or(&Value::Null);
        let expected = p.get("value").cloned().unwrap_or(Value::Null);
        let malformed = !op_ok || !truthy(Some(key)) || expected.is_null();
        let chain = match p.get("dependency_chain") {
            Some(Value::Array(items)) if !items.is_empty() => {
                Some(items.iter().map(|k| self.dep_id(k)).collect())
            }
            _ => None,
        };
        DepFilter {
            malformed,
            chain,
            target: self.dep_id(key),
            expected,
        }
    }

    fn prop_filter(&self, p: &Map<String, Value>) -> PropFilter {
        let key = p.get("key").and_then(Value::as_str).map(Box::from);
        let value = p.get("value").unwrap_or(&Value::Null);
        let op_name = match p.get("operator") {
            v if !truthy(v) => Some("exact"),
            Some(Value::String(s)) => Some(s.as_str()),
            _ => None,
        };
        let op = match op_name {
            Some(name) => self.op(name, value),
            None => Op::Unknown,
        };
        let unsupported = match &op {
            Op::Unknown => true,
            Op::Regex { re, .. } => matches!(re, RegexOp::Deferred),
            Op::Number { operand, .. } => operand.is_none(),
            Op::Date { operand, .. } => matches!(operand, DateOperand::Invalid),
            Op::Semver { operand, .. } => operand.is_none(),
            _ => false,
        };
        PropFilter {
            key_prefix: key
                .as_deref()
                .map(super::context::key_prefix)
                .unwrap_or_default(),
            key,
            op,
            unsupported,
        }
    }

    fn op(&self, name: &str, value: &Value) -> Op {
        let text = |negate, kind| Op::Text {
            kind,
            negate,
            needle: value_to_string(value).to_ascii_lowercase().into(),
        };
        let number = |cmp| Op::Number {
            cmp,
            operand: parse_numeric_json(value),
        };
        let semver = |op, bounds: Option<(Semver, Semver)>| Op::Semver {
            op,
            operand: bounds,
        };
        let sv = python_str(value);
        let single = |op| semver(op, parse_semver(&sv).map(|v| (v, v)));
        match name {
            "exact" | "is_not" => Op::Exact {
                negate: name == "is_not",
                m: self.exact(value),
            },
            "is_set" => Op::IsSet,
            "is_not_set" => Op::IsNotSet,
            "icontains" => text(false, TextKind::Contains),
            "not_icontains" => text(true, TextKind::Contains),
            "starts_with" => text(false, TextKind::StartsWith),
            "not_starts_with" => text(true, TextKind::StartsWith),
            "ends_with" => text(false, TextKind::EndsWith),
            "not_ends_with" => text(true, TextKind::EndsWith),
            "regex" | "not_regex" => Op::Regex {
                negate: name == "not_regex",
                re: compile_regex(&python_str(value)),
            },
            "gt" => number(Cmp::Gt),
            "gte" => number(Cmp::Gte),
            "lt" => number(Cmp::Lt),
            "lte" => number(Cmp::Lte),
            "is_date_before" | "is_date_after" => Op::Date {
                before: name == "is_date_before",
                operand: date_operand(&python_str(value)),
            },
            "semver_eq" => single(SemverOp::Eq),
            "semver_neq" => single(SemverOp::Neq),
            "semver_gt" => single(SemverOp::Gt),
            "semver_gte" => single(SemverOp::Gte),
            "semver_lt" => single(SemverOp::Lt),
            "semver_lte" => single(SemverOp::Lte),
            "semver_tilde" => semver(SemverOp::Range, tilde_bounds(&sv)),
            "semver_caret" => semver(SemverOp::Range, caret_bounds(&sv)),
            "semver_wildcard" => semver(SemverOp::Range, wildcard_bounds(&sv)),
            _ => Op::Unknown,
        }
    }

    fn exact(&self, value: &Value) -> Exact {
        match value {
            Value::Array(a) if a.is_empty() => Exact::EmptyList,
            v if !self.property_matching_v2 && json_truthy_or_falsy(v) => {
                Exact::Truthy(json_truthy(v))
            }
            Value::Array(items) => Exact::OneOf(
                items
                    .iter()
                    .map(|i| value_to_string(i).to_lowercase().into())
                    .collect(),
            ),
            v => Exact::One(value_to_string(v).to_lowercase().into()),
        }
    }

    fn cohort_node(&mut self, group: &Value, depth: usize) -> CohortNode {
        if depth > MAX_NESTING {
            return CohortNode::TooDeep;
        }
        let Value::Object(g) = group else {
            return CohortNode::Malformed;
        };
        if g.is_empty() {
            return CohortNode::Empty;
        }
        let and = match g.get("type").and_then(Value::as_str) {
            Some("AND") => true,
            Some("OR") => false,
            _ => return CohortNode::Malformed,
        };
        let Some(Value::Array(values)) = g.get("values") else {
            return CohortNode::Malformed;
        };
        let entries = values
            .iter()
            .map(|entry| match entry {
                Value::Object(e) => {
                    let nested = e.is_empty()
                        || e.contains_key("values")
                        || matches!(e.get("type").and_then(Value::as_str), Some("AND" | "OR"));
                    if nested {
                        CohortEntry::Nested(self.cohort_node(entry, depth + 1))
                    } else {
                        CohortEntry::Filter {
                            filter: self.filter(entry),
                            negation: truthy(e.get("negation")),
                        }
                    }
                }
                _ => CohortEntry::NotObject,
            })
            .collect();
        CohortNode::Group { and, entries }
    }

    fn condition(&mut self, cond: &Value, flag_agg: Option<&Value>) -> Condition {
        let Value::Object(c) = cond else {
            return Condition {
                malformed: true,
                aggregation: CondAggregation::Same,
                filters: Vec::new(),
                filters_malformed: false,
                rollout: Rollout::All,
                variant_override: None,
            };
        };
        let aggregation = match c.get("aggregation_group_type_index") {
            None => CondAggregation::Same,
            Some(v) => {
                let flag_v = flag_agg.unwrap_or(&Value::Null);
                if py_eq(v, flag_v) || v.is_null() {
                    CondAggregation::Same
                } else {
                    CondAggregation::Group(self.group_name(v))
                }
            }
        };
        let (filters, filters_malformed) = match c.get("properties") {
            Some(Value::Array(items)) => (items.iter().map(|p| self.filter(p)).collect(), false),
            v if !truthy(v) => (Vec::new(), false),
            _ => (Vec::new(), true),
        };
        let rollout = match c.get("rollout_percentage") {
            None | Some(Value::Null) => Rollout::All,
            Some(v) => as_number(v).map_or(Rollout::Malformed, Rollout::Percent),
        };
        Condition {
            malformed: false,
            aggregation,
            filters,
            filters_malformed,
            rollout,
            variant_override: None,
        }
    }

    fn flag(&mut self, f: &Map<String, Value>, key: &str) -> CompiledFlag {
        let filters_value = f.get("filters");
        let empty = Map::new();
        let (filters, malformed) = match filters_value {
            Some(Value::Object(m)) => (m, false),
            v if !truthy(v) => (&empty, false),
            _ => (&empty, true),
        };
        let agg_value = filters
            .get("aggregation_group_type_index")
            .filter(|v| !v.is_null());
        let aggregation = match agg_value {
            None => Aggregation::Person,
            Some(v) => Aggregation::Group(self.group_name(v)),
        };
        let bucketing = if truthy(f.get("bucketing_identifier")) {
            f.get("bucketing_identifier")
        } else {
            filters.get("bucketing_identifier")
        };
        let device_bucketing = bucketing.and_then(Value::as_str) == Some("device_id");

        let holdout = match filters.get("holdout") {
            v if !truthy(v) => Holdout::None,
            Some(Value::Object(h)) => {
                let pct = h.get("exclusion_percentage").filter(|v| !v.is_null());
                let id = h.get("id").filter(|v| !v.is_null());
                match (pct, id) {
                    (Some(p), Some(id)) => match python_float(p) {
                        Some(x) => {
                            let x = if 0.0 > x { 0.0 } else { x };
                            let x = if 100.0 < x { 100.0 } else { x };
                            Holdout::Held {
                                percentage: x,
                                variant: format!("holdout-{}", python_str(id)).into(),
                            }
                        }
                        None => Holdout::Malformed,
                    },
                    _ => Holdout::None,
                }
            }
            _ => Holdout::Malformed,
        };

        // Variants.
        let variant_list: Vec<Value> = match filters.get("multivariate") {
            Some(Value::Object(m)) => match m.get("variants") {
                Some(Value::Array(v)) => v.clone(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        let mut variant_keys_ok = true;
        let mut variants = Some(Vec::with_capacity(variant_list.len()));
        let mut min = 0.0f64;
        for v in &variant_list {
            let key = v.get("key");
            if key.is_none() {
                variant_keys_ok = false;
            }
            let pct = v.get("rollout_percentage").and_then(as_number);
            match (key.and_then(Value::as_str), pct, variants.as_mut()) {
                (Some(k), Some(p), Some(list)) => {
                    let max = min + p / 100.0;
                    list.push(Variant {
                        key: k.into(),
                        min,
                        max,
                    });
                    min = max;
                }
                _ => variants = None,
            }
        }
        let valid_keys: Vec<&Value> = variant_list.iter().filter_map(|v| v.get("key")).collect();

        let groups: Vec<Value> = match filters.get("groups") {
            Some(Value::Array(g)) => g.clone(),
            _ => Vec::new(),
        };
        let conditions = groups
            .iter()
            .map(|g| {
                let mut c = self.condition(g, agg_value);
                if let Some(ov) = g.get("variant")
                    && truthy(Some(ov))
                    && let Some(s) = ov.as_str()
                    && valid_keys.iter().any(|k| k.as_str() == Some(s))
                {
                    c.variant_override = Some(s.into());
                }
                c
            })
            .collect::<Vec<_>>();

        let mut payloads = Vec::new();
        if let Some(Value::Object(p)) = filters.get("payloads") {
            for (k, v) in p {
                let decoded = match v {
                    Value::String(s) => serde_json::from_str::<Value>(s).ok(),
                    other => Some(other.clone()),
                };
                if let Some(d) = decoded
                    && !d.is_null()
                {
                    payloads.push((Box::from(k.as_str()), d));
                }
            }
        }

        let unsupported_definition = matches!(aggregation, Aggregation::Group(GroupName::Unknown))
            || groups.iter().any(|g| {
                g.get("properties")
                    .and_then(Value::as_array)
                    .is_some_and(|props| {
                        props
                            .iter()
                            .any(|p| self.unsupported_property(p, &mut Vec::new(), 0))
                    })
            });

        CompiledFlag {
            key: key.into(),
            active: truthy(f.get("active")),
            continuity: truthy(f.get("ensure_experience_continuity")),
            malformed,
            aggregation,
            device_bucketing,
            enrollment: filters.get("feature_enrollment") == Some(&Value::Bool(true)),
            enrollment_key: format!("$feature_enrollment/{key}").into(),
            holdout,
            conditions,
            variants,
            variant_keys_ok,
            early_exit: truthy(filters.get("early_exit")),
            payloads,
            unsupported_definition,
            hash: HashPrefix::new(&format!("{key}.")),
        }
    }

    /// The SDK's load-time `_is_unsupported_property`.
    fn unsupported_property(&self, prop: &Value, visited: &mut Vec<String>, depth: usize) -> bool {
        let Value::Object(p) = prop else {
            return false;
        };
        match p.get("type").and_then(Value::as_str) {
            Some("flag") => {
                let op_ok = p.get("operator").and_then(Value::as_str) == Some("flag_evaluates_to");
                let key = p.get("key");
                if !op_ok || !truthy(key) || p.get("value").is_none_or(Value::is_null) {
                    return false;
                }
                match p.get("dependency_chain") {
                    Some(Value::Array(chain)) if !chain.is_empty() => chain
                        .iter()
                        .any(|k| k.as_str().is_none_or(|s| !self.flag_index.contains_key(s))),
                    _ => true,
                }
            }
            Some("cohort") => {
                let id = python_str(p.get("value").unwrap_or(&Value::Null));
                let Some(group) = self.defs.cohorts.get(&id) else {
                    return true;
                };
                let op_ok = match p.get("operator") {
                    v if !truthy(v) => true,
                    Some(Value::String(s)) => matches!(s.as_str(), "exact" | "in" | "not_in"),
                    _ => false,
                };
                if !op_ok {
                    return true;
                }
                if visited.contains(&id) {
                    return false;
                }
                visited.push(id);
                self.unsupported_group(group, visited, depth + 1)
            }
            _ => self.prop_filter(p).unsupported,
        }
    }

    fn unsupported_group(&self, group: &Value, visited: &mut Vec<String>, depth: usize) -> bool {
        if depth > MAX_NESTING {
            return true;
        }
        let Value::Object(g) = group else {
            return true;
        };
        if g.is_empty() {
            return false;
        }
        let Some(Value::Array(values)) = g.get("values") else {
            return true;
        };
        if !matches!(g.get("type").and_then(Value::as_str), Some("AND" | "OR")) {
            return true;
        }
        values.iter().any(|e| match e {
            Value::Object(o) => {
                let nested = o.is_empty()
                    || o.contains_key("values")
                    || matches!(o.get("type").and_then(Value::as_str), Some("AND" | "OR"));
                if nested {
                    self.unsupported_group(e, visited, depth + 1)
                } else {
                    self.unsupported_property(e, visited, depth + 1)
                }
            }
            _ => true,
        })
    }
}

/// Python's `float(x)` for a JSON value.
fn python_float(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Value::String(s) => {
            let t = operators::py_strip(s).replace('_', "");
            t.parse::<f64>().ok()
        }
        _ => None,
    }
}

fn compile_regex(pattern: &str) -> RegexOp {
    if pattern.is_empty() {
        return RegexOp::Empty;
    }
    let Some(scan) = scan_regex(pattern) else {
        return RegexOp::Deferred;
    };
    if scan.python_invalid {
        return RegexOp::Invalid;
    }
    match regex::RegexBuilder::new(&scan.rust_pattern)
        .size_limit(1 << 22)
        .build()
    {
        Ok(re) => RegexOp::Compiled {
            re,
            word: scan.uses_word_class,
            space: scan.uses_space_class,
            end_anchor_and_repetition: scan.uses_end_anchor && scan.uses_quantifier_or_alternation,
        },
        Err(_) => RegexOp::Invalid,
    }
}

fn date_operand(text: &str) -> DateOperand {
    if let Some((n, unit)) = parse_relative(text) {
        // Month and year steps can leave the calendar's range; the SDK then treats the
        // text as an absolute date, which fails to parse.
        if operators::relative_to_micros(n, unit, operators::now_micros()).is_some() {
            return DateOperand::Relative(n, unit);
        }
        return DateOperand::Invalid;
    }
    if operators::is_bare_year(text) {
        return DateOperand::Year(text.into());
    }
    match operators::parse_datetime(text, operators::now_micros) {
        Some(us) => DateOperand::Absolute(us),
        None => DateOperand::Invalid,
    }
}

/// Compiles a definitions document.
pub fn compile(defs: &Definitions) -> Snapshot {
    // flags_by_key: the last definition of a key wins; flags without a string key are
    // invisible to the SDK.
    let mut order: Vec<(&str, &Map<String, Value>)> = Vec::new();
    let mut flag_index: HashMap<String, u32> = HashMap::new();
    for f in &defs.flags {
        let Value::Object(obj) = f else { continue };
        let Some(key) = obj.get("key").and_then(Value::as_str) else {
            continue;
        };
        match flag_index.get(key) {
            Some(&i) => order[i as usize] = (key, obj),
            None => {
                flag_index.insert(key.to_owned(), order.len() as u32);
                order.push((key, obj));
            }
        }
    }
    let mut cohort_index = HashMap::new();
    let cohort_ids: Vec<&String> = defs.cohorts.keys().collect();
    for (i, id) in cohort_ids.iter().enumerate() {
        cohort_index.insert((*id).clone(), i as u32);
    }
    let property_matching_v2 = defs
        .property_matching_version
        .as_ref()
        .and_then(as_number)
        .is_some_and(|v| v == 2.0);
    let mut c = Compiler {
        defs,
        n_flags: order.len() as u32,
        flag_index,
        cohort_index,
        missing: HashMap::new(),
        property_matching_v2,
    };
    let cohorts: Vec<CohortNode> = cohort_ids
        .iter()
        .map(|id| {
            let group = defs.cohorts.get(*id).unwrap_or(&Value::Null);
            c.cohort_node(group, 0)
        })
        .collect();
    let flags: Vec<CompiledFlag> = order.iter().map(|(k, f)| c.flag(f, k)).collect();
    let index = c
        .flag_index
        .iter()
        .map(|(k, v)| (k.clone().into_boxed_str(), FlagId(*v)))
        .collect();
    Snapshot::from_parts(flags, cohorts, index, operators::non_word_checker())
}
