//! The evaluation walk over a compiled snapshot. It follows posthog-python's local
//! evaluation step by step (order of checks, which failures stop a flag and which only a
//! condition, which reason wins), without allocating.

use super::compile::{
    Aggregation, Cmp, CohortEntry, CohortNode, CohortOp, CohortRef, CompiledFlag, CondAggregation,
    Condition, DateOperand, DepFilter, DepId, Exact, Filter, GroupName, Holdout, Op, PropFilter,
    RegexOp, Rollout, SemverOp, TextKind,
};
use super::context::{EvalContext, Group, PropRef, Scope, StackStr};
use super::operators::{
    ascii_icontains, ascii_iends, ascii_istarts, eq_lower, is_bare_year, is_true_string,
    json_truthy, now_micros, parse_datetime, parse_numeric_str, parse_semver, relative_to_micros,
};
use super::{FlagValue, InconclusiveReason, Reason, Snapshot};

use InconclusiveReason as U;

/// How a step failed, mirroring the SDK's exceptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fail {
    /// `InconclusiveMatchError`: other conditions may still decide the flag.
    Inconclusive(U),
    /// `RequiresServerEvaluation`: the flag needs the server, whatever else matches.
    Server(U),
    /// Any other exception (a malformed definition): the flag has no local value.
    Generic,
}

type R<T> = Result<T, Fail>;

enum CondResult<'s> {
    Match(FlagValue<'s>),
    NoMatch,
    OutOfRollout,
}

fn pick(current: Option<U>, new: U) -> Option<U> {
    Some(match current {
        Some(c) if c <= new => c,
        _ => new,
    })
}

/// Deeper than any real cohort nesting or dependency chain: only a cycle gets here (the
/// SDK then hits Python's recursion limit). A nested property group costs 1, a dependency
/// level 3 (roughly the ratio of Python frames each takes).
const MAX_DEPTH: u32 = 300;
const DEPENDENCY_DEPTH: u32 = 3;
/// A bound on filter checks per evaluation, so cyclic definitions cannot run away.
const MAX_STEPS: u32 = 100_000;
const CACHE_SLOTS: usize = 8;

/// The per-evaluation flag-dependency cache (the SDK's `evaluation_cache`), on the stack.
/// `Some(None)` records an inconclusive dependency.
struct DepCache<'s> {
    len: usize,
    keys: [DepId; CACHE_SLOTS],
    values: [Option<FlagValue<'s>>; CACHE_SLOTS],
}

impl<'s> DepCache<'s> {
    fn new() -> Self {
        DepCache {
            len: 0,
            keys: [0; CACHE_SLOTS],
            values: [None; CACHE_SLOTS],
        }
    }

    fn get(&self, k: DepId) -> Option<Option<FlagValue<'s>>> {
        self.keys[..self.len]
            .iter()
            .position(|&x| x == k)
            .map(|i| self.values[i])
    }

    fn contains(&self, k: DepId) -> bool {
        self.keys[..self.len].contains(&k)
    }

    fn set(&mut self, k: DepId, v: Option<FlagValue<'s>>) {
        if let Some(i) = self.keys[..self.len].iter().position(|&x| x == k) {
            self.values[i] = v;
        } else if self.len < CACHE_SLOTS {
            self.keys[self.len] = k;
            self.values[self.len] = v;
            self.len += 1;
        }
        // A full cache only costs re-evaluation: results are deterministic.
    }
}

pub(crate) struct Engine<'s, 'c> {
    snap: &'s Snapshot,
    ctx: &'c EvalContext<'c>,
    cache: Option<DepCache<'s>>,
    steps: u32,
    depth: u32,
    now: Option<i64>,
}

/// Who a flag is evaluated for: the distinct id passed down (the group key for a group
/// flag), the property scope, the bucketing value, and whether this is the requested flag
/// (`top`) or one of its dependencies (the SDK then passes no groups).
#[derive(Clone, Copy)]
struct Subject<'c> {
    did: &'c str,
    scope: Scope<'c>,
    bucketing: &'c str,
    top: bool,
}

fn group_scope<'c>(g: &Group<'c>) -> Scope<'c> {
    Scope {
        props: g.properties,
        extra_key: "$group_key",
        extra_value: g.key,
    }
}

impl<'s, 'c> Engine<'s, 'c> {
    pub(crate) fn new(snap: &'s Snapshot, ctx: &'c EvalContext<'c>) -> Self {
        Engine {
            snap,
            ctx,
            cache: None,
            steps: 0,
            depth: 0,
            now: None,
        }
    }

    fn cache(&mut self) -> &mut DepCache<'s> {
        self.cache.get_or_insert_with(DepCache::new)
    }

    fn now(&mut self) -> i64 {
        *self.now.get_or_insert_with(now_micros)
    }

    /// The SDK's `_compute_flag_locally`.
    pub(crate) fn top(&mut self, f: &'s CompiledFlag) -> R<(FlagValue<'s>, Reason)> {
        if !f.active {
            return Ok((FlagValue::Bool(false), Reason::Disabled));
        }
        if f.continuity {
            return Err(Fail::Inconclusive(U::ExperienceContinuity));
        }
        if f.malformed {
            return Err(Fail::Generic);
        }
        let ctx = self.ctx;
        match &f.aggregation {
            Aggregation::Person => {
                let bucketing = if f.device_bucketing {
                    match ctx.device_id {
                        Some(d) if !d.is_empty() => d,
                        _ => {
                            return Err(Fail::Inconclusive(if f.unsupported_definition {
                                U::UnsupportedDefinition
                            } else {
                                U::MissingContext
                            }));
                        }
                    }
                } else {
                    ctx.distinct_id
                };
                let scope = Scope {
                    props: ctx.person_properties,
                    extra_key: "distinct_id",
                    extra_value: ctx.distinct_id,
                };
                let at = Subject {
                    did: ctx.distinct_id,
                    scope,
                    bucketing,
                    top: true,
                };
                self.match_flag(f, at)
            }
            Aggregation::Group(GroupName::Unknown) => {
                Err(Fail::Inconclusive(U::UnsupportedDefinition))
            }
            Aggregation::Group(GroupName::Unmatchable) => {
                Ok((FlagValue::Bool(false), Reason::GroupNotProvided))
            }
            Aggregation::Group(GroupName::Name(name)) => match ctx.group(name) {
                None => Ok((FlagValue::Bool(false), Reason::GroupNotProvided)),
                Some(g) => {
                    let at = Subject {
                        did: g.key,
                        scope: group_scope(g),
                        bucketing: g.key,
                        top: true,
                    };
                    self.match_flag(f, at)
                }
            },
        }
    }

    /// The SDK's `match_feature_flag_properties`. `top` is false for a flag evaluated as a
    /// dependency (the SDK then passes no groups and no group type mapping).
    fn match_flag(&mut self, f: &'s CompiledFlag, at: Subject<'c>) -> R<(FlagValue<'s>, Reason)> {
        let Subject {
            scope, bucketing, ..
        } = at;
        if f.enrollment {
            if !matches!(f.aggregation, Aggregation::Person) {
                return Err(Fail::Inconclusive(U::UnsupportedDefinition));
            }
            return match scope.lookup(&f.enrollment_key) {
                None => Err(Fail::Inconclusive(U::MissingContext)),
                Some(v) => {
                    let on = match v {
                        PropRef::Bool(b) => b,
                        PropRef::Str(s) => s == "true",
                        _ => false,
                    };
                    Ok((FlagValue::Bool(on), Reason::FeatureEnrollment))
                }
            };
        }
        match &f.holdout {
            Holdout::None => {}
            Holdout::Malformed => return Err(Fail::Generic),
            Holdout::Held {
                percentage,
                variant,
            } => {
                let out = *percentage != 100.0
                    && self.snap.holdout_hash.hash(bucketing, "") > *percentage / 100.0;
                if !out {
                    return Ok((FlagValue::Variant(variant), Reason::Holdout));
                }
            }
        }
        if !f.variant_keys_ok {
            return Err(Fail::Generic);
        }
        let mut inconclusive: Option<U> = None;
        let mut first_out_of_rollout = None;
        // The rollout hash depends only on the flag and the bucketing value: computed at
        // most once per evaluation, however many conditions have a rollout.
        let mut rollout_hash = None;
        for (i, c) in f.conditions.iter().enumerate() {
            match self.condition(f, c, at, &mut rollout_hash) {
                Err(Fail::Server(r)) => {
                    let r = if f.unsupported_definition {
                        r.min(U::UnsupportedDefinition)
                    } else {
                        r
                    };
                    return Err(Fail::Server(r));
                }
                Err(Fail::Inconclusive(r)) => inconclusive = pick(inconclusive, r),
                Err(Fail::Generic) => return Err(Fail::Generic),
                Ok(CondResult::Match(v)) => return Ok((v, Reason::ConditionMatch { index: i })),
                Ok(CondResult::OutOfRollout) => {
                    first_out_of_rollout.get_or_insert(i);
                    if f.early_exit {
                        break;
                    }
                }
                Ok(CondResult::NoMatch) => {}
            }
        }
        match inconclusive {
            Some(r) => Err(Fail::Inconclusive(r)),
            None => Ok((
                FlagValue::Bool(false),
                match first_out_of_rollout {
                    Some(index) => Reason::OutOfRollout { index },
                    None => Reason::NoConditionMatch,
                },
            )),
        }
    }

    fn condition(
        &mut self,
        f: &'s CompiledFlag,
        c: &'s Condition,
        at: Subject<'c>,
        rollout_hash: &mut Option<f64>,
    ) -> R<CondResult<'s>> {
        let Subject {
            did,
            scope,
            bucketing,
            top,
        } = at;
        if c.malformed {
            return Err(Fail::Generic);
        }
        let mut own_hash = None;
        let (scope, bucketing, hash_memo) = match &c.aggregation {
            CondAggregation::Same => (scope, bucketing, rollout_hash),
            CondAggregation::Group(name) => {
                let ctx = self.ctx;
                let group = match name {
                    GroupName::Name(n) if top => ctx.group(n),
                    _ => None,
                };
                match group {
                    Some(g) => (group_scope(g), g.key, &mut own_hash),
                    None => return Ok(CondResult::NoMatch),
                }
            }
        };
        if c.filters_malformed {
            return Err(Fail::Generic);
        }
        if !c.filters.is_empty() {
            if !self.filters(&c.filters, scope, did)? {
                return Ok(CondResult::NoMatch);
            }
            if matches!(c.rollout, Rollout::All) {
                return self.variant(f, c, bucketing).map(CondResult::Match);
            }
        }
        match c.rollout {
            Rollout::All => {}
            Rollout::Malformed => return Err(Fail::Generic),
            // The hash is at most 1.0, so a rollout of 100% or more admits everyone: no
            // need to hash.
            Rollout::Percent(p) if p / 100.0 >= 1.0 => {}
            Rollout::Percent(p) => {
                let h = *hash_memo.get_or_insert_with(|| f.hash.hash(bucketing, ""));
                if h > p / 100.0 {
                    return Ok(CondResult::OutOfRollout);
                }
            }
        }
        self.variant(f, c, bucketing).map(CondResult::Match)
    }

    fn variant(&self, f: &'s CompiledFlag, c: &'s Condition, bucketing: &str) -> R<FlagValue<'s>> {
        if let Some(v) = &c.variant_override {
            return Ok(FlagValue::Variant(v));
        }
        let Some(variants) = &f.variants else {
            return Err(Fail::Generic);
        };
        if variants.is_empty() {
            return Ok(FlagValue::Bool(true));
        }
        let h = f.hash.hash(bucketing, "variant");
        for v in variants {
            if h >= v.min && h < v.max {
                return Ok(if v.key.is_empty() {
                    FlagValue::Bool(true)
                } else {
                    FlagValue::Variant(&v.key)
                });
            }
        }
        Ok(FlagValue::Bool(true))
    }

    /// The SDK's `_match_condition_properties`: all filters of one condition.
    fn filters(&mut self, filters: &'s [Filter], scope: Scope<'c>, did: &'c str) -> R<bool> {
        let mut inconclusive: Option<U> = None;
        let mut server: Option<U> = None;
        for filter in filters {
            match self.filter(filter, scope, did) {
                Ok(true) => {}
                Ok(false) => return Ok(false),
                Err(Fail::Server(r)) => {
                    if inconclusive.is_none() {
                        server = Some(r);
                    }
                    inconclusive = pick(inconclusive, r);
                }
                Err(Fail::Inconclusive(r)) => inconclusive = pick(inconclusive, r),
                Err(Fail::Generic) => {
                    if inconclusive.is_none() {
                        return Err(Fail::Generic);
                    }
                    break;
                }
            }
        }
        if let Some(r) = server {
            return Err(Fail::Server(r));
        }
        if let Some(r) = inconclusive {
            return Err(Fail::Inconclusive(r));
        }
        Ok(true)
    }

    fn filter(&mut self, filter: &'s Filter, scope: Scope<'c>, did: &'c str) -> R<bool> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(Fail::Generic);
        }
        match filter {
            Filter::Malformed => Err(Fail::Generic),
            Filter::Property(p) => self.property(p, scope),
            Filter::Cohort(c) => self.cohort(c, scope, did),
            Filter::Flag(d) => self.dependency(d, scope, did),
        }
    }

    fn enter(&mut self, cost: u32) -> R<()> {
        if self.depth + cost > MAX_DEPTH {
            return Err(Fail::Generic);
        }
        self.depth += cost;
        Ok(())
    }

    fn cohort(&mut self, c: &'s CohortRef, scope: Scope<'c>, did: &'c str) -> R<bool> {
        let snap = self.snap;
        let Some(node) = c.cohort.and_then(|i| snap.cohorts.get(i as usize)) else {
            return Err(Fail::Server(U::UnsupportedDefinition));
        };
        if c.operator == CohortOp::Unsupported {
            return Err(Fail::Inconclusive(U::UnsupportedDefinition));
        }
        let m = self.node(node, scope, did)?;
        Ok(if c.operator == CohortOp::NotIn { !m } else { m })
    }

    /// The SDK's `match_property_group`.
    fn node(&mut self, node: &'s CohortNode, scope: Scope<'c>, did: &'c str) -> R<bool> {
        let (and, entries) = match node {
            CohortNode::Empty => return Ok(true),
            CohortNode::TooDeep => return Err(Fail::Generic),
            CohortNode::Malformed => return Err(Fail::Server(U::UnsupportedDefinition)),
            CohortNode::Group { and, entries } => (*and, entries),
        };
        if entries.is_empty() {
            return Ok(true);
        }
        self.enter(1)?;
        let mut decisive = None;
        let mut inconclusive = None;
        for e in entries {
            let r = match e {
                CohortEntry::NotObject => Err(Fail::Server(U::UnsupportedDefinition)),
                CohortEntry::Nested(n) => self.node(n, scope, did),
                CohortEntry::Filter { filter, negation } => {
                    self.filter(filter, scope, did).map(|m| m != *negation)
                }
            };
            match r {
                Ok(m) => {
                    if m != and {
                        decisive = Some(m);
                    }
                }
                Err(Fail::Inconclusive(r)) => inconclusive = pick(inconclusive, r),
                Err(e) => {
                    self.depth -= 1;
                    return Err(e);
                }
            }
        }
        self.depth -= 1;
        match (decisive, inconclusive) {
            (Some(d), _) => Ok(d),
            (None, Some(r)) => Err(Fail::Inconclusive(r)),
            (None, None) => Ok(and),
        }
    }

    /// The SDK's `evaluate_flag_dependency`.
    fn dependency(&mut self, d: &'s DepFilter, scope: Scope<'c>, did: &'c str) -> R<bool> {
        if d.malformed {
            return Ok(false);
        }
        let Some(chain) = &d.chain else {
            return Err(Fail::Inconclusive(U::UnsupportedDefinition));
        };
        let n_flags = self.snap.flags.len() as DepId;
        for &k in chain {
            if !self.cache().contains(k) && k >= n_flags {
                self.cache().set(k, None);
                return Err(Fail::Inconclusive(U::UnsupportedDefinition));
            }
        }
        for &k in chain {
            if !self.cache().contains(k) {
                self.eval_dependency(k, scope, did)?;
            }
        }
        match self.cache().get(d.target) {
            Some(Some(actual)) => Ok(dependency_matches(&d.expected, actual)),
            cached => Err(Fail::Inconclusive(
                if d.target < n_flags && cached.is_some() {
                    U::UnresolvedDependency
                } else {
                    U::UnsupportedDefinition
                },
            )),
        }
    }

    /// The SDK's `_evaluate_dependency`: evaluates one chain member into the cache.
    fn eval_dependency(&mut self, k: DepId, scope: Scope<'c>, did: &'c str) -> R<()> {
        let snap = self.snap;
        let Some(f) = snap.flags.get(k as usize) else {
            return Err(Fail::Generic);
        };
        if !f.active {
            self.cache().set(k, Some(FlagValue::Bool(false)));
            return Ok(());
        }
        if f.continuity {
            self.cache().set(k, None);
            return Err(Fail::Inconclusive(U::UnresolvedDependency));
        }
        if f.malformed {
            return Err(Fail::Generic);
        }
        let bucketing = match (&f.aggregation, f.device_bucketing) {
            (Aggregation::Person, true) => match self.ctx.device_id {
                Some(dev) if !dev.is_empty() => dev,
                _ => {
                    self.cache().set(k, None);
                    return Err(Fail::Inconclusive(U::UnresolvedDependency));
                }
            },
            _ => did,
        };
        self.enter(DEPENDENCY_DEPTH)?;
        let at = Subject {
            did,
            scope,
            bucketing,
            top: false,
        };
        let r = self.match_flag(f, at);
        self.depth -= DEPENDENCY_DEPTH;
        match r {
            Ok((v, _)) => {
                self.cache().set(k, Some(v));
                Ok(())
            }
            Err(Fail::Server(_)) => Err(Fail::Server(U::UnresolvedDependency)),
            Err(Fail::Inconclusive(_)) => {
                self.cache().set(k, None);
                Err(Fail::Inconclusive(U::UnresolvedDependency))
            }
            Err(Fail::Generic) => Err(Fail::Generic),
        }
    }

    /// The SDK's `match_property`.
    fn property(&mut self, p: &'s PropFilter, scope: Scope<'c>) -> R<bool> {
        if matches!(p.op, Op::Unknown) {
            return Err(Fail::Inconclusive(U::UnsupportedDefinition));
        }
        let value = p
            .key
            .as_deref()
            .and_then(|k| scope.lookup_prefixed(k, p.key_prefix));
        let Some(value) = value else {
            return Err(Fail::Inconclusive(if p.unsupported {
                U::UnsupportedDefinition
            } else {
                U::MissingContext
            }));
        };
        match self.property_value(p, value) {
            Err(Fail::Inconclusive(U::MissingContext)) if p.unsupported => {
                Err(Fail::Inconclusive(U::UnsupportedDefinition))
            }
            other => other,
        }
    }

    fn property_value(&mut self, p: &'s PropFilter, v: PropRef<'c>) -> R<bool> {
        let mut buf = StackStr::new();
        match &p.op {
            Op::Unknown => Err(Fail::Inconclusive(U::UnsupportedDefinition)),
            Op::IsSet => Ok(true),
            Op::IsNotSet => Ok(false),
            Op::Number { cmp, operand } => {
                let Some(x) = operand else {
                    return Err(Fail::Inconclusive(U::UnsupportedDefinition));
                };
                let Some(y) = numeric(v) else {
                    return Ok(false);
                };
                Ok(match cmp {
                    Cmp::Gt => y > *x,
                    Cmp::Gte => y >= *x,
                    Cmp::Lt => y < *x,
                    Cmp::Lte => y <= *x,
                })
            }
            Op::Exact { negate, m } => {
                let text = v.text(&mut buf);
                let matched = match m {
                    Exact::EmptyList => truthy(v),
                    Exact::Truthy(b) => *b == truthy(v),
                    Exact::OneOf(list) => list.iter().any(|c| eq_lower(text, c)),
                    Exact::One(s) => eq_lower(text, s),
                };
                Ok(matched != *negate)
            }
            Op::Text {
                kind,
                negate,
                needle,
            } => {
                let text = v.text(&mut buf);
                let matched = match kind {
                    TextKind::Contains => ascii_icontains(text, needle),
                    TextKind::StartsWith => ascii_istarts(text, needle),
                    TextKind::EndsWith => ascii_iends(text, needle),
                };
                Ok(matched != *negate)
            }
            Op::Regex { negate, re } => {
                let text = v.text(&mut buf);
                match re {
                    RegexOp::Empty => Ok(!*negate),
                    RegexOp::Invalid => Ok(false),
                    RegexOp::Deferred => Err(Fail::Inconclusive(U::UnsupportedDefinition)),
                    RegexOp::Compiled {
                        re,
                        word,
                        space,
                        end_anchor_and_repetition,
                    } => {
                        let deferred = (*end_anchor_and_repetition && text.ends_with('\n'))
                            || (*word
                                && !text.is_ascii()
                                && self
                                    .snap
                                    .non_word
                                    .as_ref()
                                    .is_none_or(|nw| nw.is_match(text)))
                            || (*space && text.contains(['\u{1c}', '\u{1d}', '\u{1e}', '\u{1f}']));
                        if deferred {
                            return Err(Fail::Inconclusive(U::UnsupportedDefinition));
                        }
                        Ok(re.is_match(text) != *negate)
                    }
                }
            }
            Op::Date { .. } | Op::Semver { .. } if v.is_null() => Ok(false),
            Op::Date { before, operand } => {
                let target = match operand {
                    DateOperand::Absolute(t) => Some(*t),
                    DateOperand::Relative(n, unit) => {
                        let now = self.now();
                        relative_to_micros(*n, *unit, now)
                    }
                    DateOperand::Year(text) => {
                        let now = self.now();
                        parse_datetime(text, || now)
                    }
                    DateOperand::Invalid => None,
                };
                let Some(target) = target else {
                    return Err(Fail::Inconclusive(U::UnsupportedDefinition));
                };
                let text = match v {
                    PropRef::Str(s) => s,
                    _ => return Err(Fail::Inconclusive(U::MissingContext)),
                };
                let now = if is_bare_year(text) { self.now() } else { 0 };
                let Some(value) = parse_datetime(text, || now) else {
                    return Err(Fail::Inconclusive(U::MissingContext));
                };
                Ok(if *before {
                    value < target
                } else {
                    value > target
                })
            }
            Op::Semver { op, operand } => {
                let Some((lo, hi)) = operand else {
                    return Err(Fail::Inconclusive(U::UnsupportedDefinition));
                };
                let Some(value) = parse_semver(v.python_str(&mut buf)) else {
                    return Err(Fail::Inconclusive(U::MissingContext));
                };
                Ok(match op {
                    SemverOp::Eq => value == *lo,
                    SemverOp::Neq => value != *lo,
                    SemverOp::Gt => value > *lo,
                    SemverOp::Gte => value >= *lo,
                    SemverOp::Lt => value < *lo,
                    SemverOp::Lte => value <= *lo,
                    SemverOp::Range => *lo <= value && value < *hi,
                })
            }
        }
    }
}

/// The SDK's `_parse_numeric_value` on a property.
fn numeric(v: PropRef<'_>) -> Option<f64> {
    match v {
        PropRef::Str(s) => parse_numeric_str(s),
        PropRef::Int(i) => Some(i as f64),
        PropRef::UInt(u) => Some(u as f64),
        PropRef::Float(f) => Some(f).filter(|f| f.is_finite()),
        _ => None,
    }
}

/// The SDK's `_is_truthy_property_value` on a property.
fn truthy(v: PropRef<'_>) -> bool {
    match v {
        PropRef::Str(s) => is_true_string(s),
        PropRef::Bool(b) => b,
        PropRef::Json { value, .. } => value.is_array() && json_truthy(value),
        _ => false,
    }
}

/// The SDK's `matches_dependency_value`.
fn dependency_matches(expected: &serde_json::Value, actual: FlagValue<'_>) -> bool {
    use serde_json::Value;
    match actual {
        FlagValue::Variant(s) if !s.is_empty() => match expected {
            Value::Bool(b) => *b,
            Value::String(e) => e == s,
            _ => false,
        },
        FlagValue::Variant(_) => false,
        FlagValue::Bool(a) => matches!(expected, Value::Bool(b) if *b == a),
    }
}
