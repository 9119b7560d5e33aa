//! Local evaluation of PostHog feature flags, bit-compatible with posthog-python (the
//! reference SDK; see `scripts/oracle/` and `tests/vectors/`).
//!
//! The `/flags/definitions` response ([`Definitions`]) is compiled once per change into a
//! [`Snapshot`]: operands parsed, regexes compiled, cohorts and flag dependencies resolved to
//! indices, payloads decoded. [`Snapshot::evaluate`] then answers one flag for one
//! [`EvalContext`] without allocating, and never fails or panics: a flag the SDK could not
//! decide locally comes back with no value and an [`InconclusiveReason`]. An [`Evaluator`]
//! publishes snapshots and swaps them atomically when definitions change.
//!
//! ```
//! use flags_runtime::eval::{EvalContext, FlagValue, Properties, Snapshot};
//!
//! let snapshot = Snapshot::from_json(r#"{"flags": [{"key": "beta", "active": true,
//!     "filters": {"groups": [{"properties": [{"key": "plan", "value": ["pro"],
//!     "operator": "exact", "type": "person"}], "rollout_percentage": 100}]}}]}"#).unwrap();
//! let mut person = Properties::new();
//! person.insert("plan", "pro");
//! let ctx = EvalContext::new("user-1", &person);
//! assert_eq!(snapshot.evaluate("beta", &ctx).value, Some(FlagValue::Bool(true)));
//! ```
//!
//! # Design notes
//!
//! - **Reference semantics.** posthog-python's local evaluation (the oracle in
//!   `../shared/tools/posthog-oracle`), not posthog-rs where they differ: the order of checks
//!   (active, experience continuity, group type, bucketing identifier, feature enrollment,
//!   holdout, conditions), which failures stop a flag (a static cohort, a malformed cohort:
//!   the SDK's `RequiresServerEvaluation`) and which only a condition (a missing property:
//!   `InconclusiveMatchError`), the precedence of [`InconclusiveReason`]s, the SDK's own
//!   string rendering of values for `exact`/`icontains`/`regex`, its semver and date parsers,
//!   its regex pre-scan (patterns it defers to the server are inconclusive here too), and
//!   the per-evaluation dependency cache. `tests/vectors/` holds the oracle's answers for
//!   generated workloads (seeds 1–5), PostHog's 1,000-id consistency fixtures and
//!   hand-written edge cases; `scripts/oracle/regenerate.sh` rebuilds them.
//! - **Compiled once.** [`Snapshot::compile`] parses every operand (numbers, dates, semver
//!   bounds), compiles regexes, lowercases comparison strings, resolves cohorts and flag
//!   dependencies to indices, decodes payloads and absorbs each flag's `"<key>."` into a
//!   SHA-1 state. Malformed definitions compile to the behaviour the SDK shows on them.
//! - **No allocation per evaluation.** The caller builds [`Properties`] once per request
//!   (sorted keys searched by their first 16 bytes, kept inline for small maps, short
//!   strings inline, one text buffer);
//!   hashing feeds SHA-1's block function from the stack; the dependency cache is a fixed
//!   array; values and payloads borrow from the snapshot. `tests/eval_alloc.rs` counts.
//! - **Never panics.** Recursion (cohorts in cohorts, dependency chains) is bounded; a cycle
//!   ends as [`Reason::Error`] where the SDK ends with a `RecursionError`.
//!
//! Known limits, none met by the vectors: strings are lowercased with Rust's Unicode tables
//! (Python's may differ by a Unicode version); dates accept the ISO 8601 shapes of Python
//! 3.11's `datetime.fromisoformat` that the vectors exercise (calendar and week dates, times
//! with fractions, offsets); a regex that Python's `re` and Rust's `regex` compile
//! differently beyond the SDK's pre-scan (other than "nothing to repeat" and "multiple
//! repeat", which are mirrored) may disagree; integers beyond 64 bits are read as floats;
//! definitions nested deeper than `serde_json`'s recursion limit (128) do not parse.

mod bucket;
pub mod compile;
pub mod context;
pub mod definitions;
mod engine;
mod operators;
pub mod oracle_format;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use arc_swap::ArcSwap;
use regex::Regex;
use serde_json::Value;

pub use bucket::flag_hash;
pub use compile::CompileError;
pub use context::{EMPTY_PROPERTIES, EvalContext, Group, Properties, PropertyRef, PropertyValue};
pub use definitions::Definitions;

use bucket::HashPrefix;
use compile::{CohortNode, CompiledFlag};
use engine::{Engine, Fail};

/// A flag's value: on/off, or the variant of a multivariate flag (or `holdout-<id>` for a
/// held-out bucketing value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagValue<'s> {
    /// A boolean flag's value (also a multivariate flag that is off, or matched outside every
    /// variant).
    Bool(bool),
    /// A variant key.
    Variant(&'s str),
}

impl FlagValue<'_> {
    /// Whether the flag is on (any variant counts as on).
    pub fn is_enabled(&self) -> bool {
        !matches!(self, FlagValue::Bool(false))
    }

    /// The variant key, if any.
    pub fn variant(&self) -> Option<&str> {
        match self {
            FlagValue::Variant(v) => Some(v),
            FlagValue::Bool(_) => None,
        }
    }
}

/// Why local evaluation could not decide a flag (the SDK's `UnresolvedFlagReason`). The
/// order is the SDK's precedence: when several apply, the smallest is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InconclusiveReason {
    /// `ensure_experience_continuity` is on: only the server keeps the experience.
    ExperienceContinuity,
    /// Something local evaluation does not support: a static cohort, an unknown operator,
    /// an unparseable operand, a regex the SDK defers, a missing or circular dependency.
    UnsupportedDefinition,
    /// A flag this flag depends on could not be decided.
    UnresolvedDependency,
    /// A property, group property or device id the flag needs was not passed.
    MissingContext,
}

impl InconclusiveReason {
    /// The SDK's string for this reason (`"missing_context"`, …).
    pub fn as_str(&self) -> &'static str {
        match self {
            InconclusiveReason::ExperienceContinuity => "experience_continuity",
            InconclusiveReason::UnsupportedDefinition => "unsupported_definition",
            InconclusiveReason::UnresolvedDependency => "unresolved_dependency",
            InconclusiveReason::MissingContext => "missing_context",
        }
    }
}

/// Why an evaluation gave its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Condition set `index` (0-based) matched.
    ConditionMatch {
        /// Position of the condition in `filters.groups`.
        index: usize,
    },
    /// No condition matched.
    NoConditionMatch,
    /// A condition's properties matched but the rollout percentage excluded this bucketing
    /// value (and no later condition matched).
    OutOfRollout {
        /// Position of the first such condition.
        index: usize,
    },
    /// The flag is not active.
    Disabled,
    /// The bucketing value falls in the flag's holdout group.
    Holdout,
    /// Decided by the `$feature_enrollment/<key>` person property (early access).
    FeatureEnrollment,
    /// A group flag, and the context has no group of that type: off, as the server says.
    GroupNotProvided,
    /// Local evaluation cannot decide; the SDK would ask the `/flags` API.
    Inconclusive(InconclusiveReason),
    /// The definitions have no flag with this key.
    FlagNotFound,
    /// The definition is malformed where evaluation needed it (the SDK raises an error and
    /// has no value either).
    Error,
}

/// The answer for one flag and one context.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation<'s> {
    /// The value, or `None` when local evaluation could not decide (see `reason`).
    pub value: Option<FlagValue<'s>>,
    /// Why.
    pub reason: Reason,
    /// The payload configured for this value, decoded from its JSON string.
    pub payload: Option<&'s Value>,
}

impl Evaluation<'_> {
    /// Whether the SDK would fall back to the server for this flag (no local value).
    pub fn is_inconclusive(&self) -> bool {
        self.value.is_none()
    }
}

/// A flag's position in a snapshot, for evaluating without a key lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlagId(pub(crate) u32);

/// FNV-1a: flag keys are short and trusted (they come from PostHog), so a fast hash beats
/// SipHash's flooding protection here.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= *b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// Compiled, immutable flag definitions: evaluate any number of times, from any thread.
pub struct Snapshot {
    flags: Vec<CompiledFlag>,
    cohorts: Vec<CohortNode>,
    index: HashMap<Box<str>, FlagId, BuildHasherDefault<Fnv>>,
    non_word: Option<Regex>,
    holdout_hash: HashPrefix,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("flags", &self.flags.len())
            .field("cohorts", &self.cohorts.len())
            .finish()
    }
}

impl Default for Snapshot {
    fn default() -> Self {
        compile::compile(&Definitions::default())
    }
}

impl Snapshot {
    pub(crate) fn from_parts(
        flags: Vec<CompiledFlag>,
        cohorts: Vec<CohortNode>,
        index: Vec<(Box<str>, FlagId)>,
        non_word: Option<Regex>,
    ) -> Self {
        Snapshot {
            flags,
            cohorts,
            index: index.into_iter().collect(),
            non_word,
            holdout_hash: HashPrefix::new("holdout-"),
        }
    }

    /// Compiles parsed definitions. Never fails: malformed flags are compiled to behave as
    /// the reference SDK behaves on them.
    pub fn compile(definitions: &Definitions) -> Self {
        compile::compile(definitions)
    }

    /// Parses and compiles a `/flags/definitions` body.
    pub fn from_json(text: &str) -> Result<Self, CompileError> {
        Ok(Self::compile(&Definitions::from_json_str(text)?))
    }

    /// Compiles a `/flags/definitions` body already parsed as JSON.
    pub fn from_value(value: &Value) -> Result<Self, CompileError> {
        Ok(Self::compile(&Definitions::from_value(value)?))
    }

    /// The id of flag `key`, for repeated evaluation without the key lookup.
    pub fn flag_id(&self, key: &str) -> Option<FlagId> {
        self.index.get(key).copied()
    }

    /// Number of flags (distinct keys).
    pub fn len(&self) -> usize {
        self.flags.len()
    }

    /// Whether there are no flags.
    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
    }

    /// The flag keys, in definition order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.flags.iter().map(|f| &*f.key)
    }

    /// Evaluates flag `key` for `ctx`.
    pub fn evaluate<'s>(&'s self, key: &str, ctx: &EvalContext<'_>) -> Evaluation<'s> {
        match self.flag_id(key) {
            Some(id) => self.evaluate_id(id, ctx),
            None => Evaluation {
                value: None,
                reason: Reason::FlagNotFound,
                payload: None,
            },
        }
    }

    /// Evaluates the flag with id `id` (from [`Snapshot::flag_id`] on this snapshot).
    pub fn evaluate_id<'s>(&'s self, id: FlagId, ctx: &EvalContext<'_>) -> Evaluation<'s> {
        let Some(flag) = self.flags.get(id.0 as usize) else {
            return Evaluation {
                value: None,
                reason: Reason::FlagNotFound,
                payload: None,
            };
        };
        let mut engine = Engine::new(self, ctx);
        match engine.top(flag) {
            Ok((value, reason)) => Evaluation {
                value: Some(value),
                reason,
                payload: payload(flag, value),
            },
            Err(Fail::Inconclusive(r)) | Err(Fail::Server(r)) => Evaluation {
                value: None,
                reason: Reason::Inconclusive(r),
                payload: None,
            },
            Err(Fail::Generic) => Evaluation {
                value: None,
                reason: Reason::Error,
                payload: None,
            },
        }
    }
}

fn payload<'s>(flag: &'s CompiledFlag, value: FlagValue<'_>) -> Option<&'s Value> {
    let key = match value {
        FlagValue::Bool(true) => "true",
        FlagValue::Bool(false) => "false",
        FlagValue::Variant(v) => v,
    };
    flag.payloads
        .iter()
        .find(|(k, _)| &**k == key)
        .map(|(_, v)| v)
}

/// Holds the current [`Snapshot`] and swaps in new ones atomically: readers never block,
/// and a reader keeps the snapshot it loaded until it drops it.
#[derive(Debug)]
pub struct Evaluator {
    current: ArcSwap<Snapshot>,
}

impl Default for Evaluator {
    fn default() -> Self {
        Self::new(Snapshot::default())
    }
}

impl Evaluator {
    /// An evaluator serving `snapshot`.
    pub fn new(snapshot: Snapshot) -> Self {
        Evaluator {
            current: ArcSwap::from_pointee(snapshot),
        }
    }

    /// The current snapshot (cheap; no allocation, no lock).
    pub fn load(&self) -> arc_swap::Guard<Arc<Snapshot>> {
        self.current.load()
    }

    /// The current snapshot as an owned `Arc`.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Publishes a new snapshot; evaluations already running finish on the old one.
    pub fn store(&self, snapshot: Snapshot) {
        self.current.store(Arc::new(snapshot));
    }

    /// Compiles and publishes new definitions.
    pub fn update(&self, definitions: &Definitions) {
        self.store(Snapshot::compile(definitions));
    }
}
