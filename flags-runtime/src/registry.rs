//! What the generated code describes: one [`FlagDefinition`] per flag in `flags.yaml`, the
//! naming rules, the lifetimes, and the traits each generated flag type implements.
//!
//! Everything here is `'static` data built in constants by `include_flags!()`, so the runtime
//! (sync, track, guard, evaluation) reads the registry without parsing the yaml again.

use std::fmt;

pub use flags_codegen::date::Date;

/// The whole registry, as `include_flags!()` generates it in `pub static REGISTRY`.
#[derive(Debug, Clone, Copy)]
pub struct Registry {
    /// The `flags.yaml` schema version.
    pub version: u32,
    /// The yaml file the registry was generated from, relative to its crate (`flags.yaml`).
    pub source: &'static str,
    /// The naming convention.
    pub naming: NamingRules,
    /// Days a flag may live, per lifecycle.
    pub lifetimes: &'static [(&'static str, Lifetime)],
    /// Every flag, in file order (archived ones included).
    pub flags: &'static [FlagDefinition],
}

impl Registry {
    /// The flag with this PostHog key.
    pub fn get(&self, key: &str) -> Option<&'static FlagDefinition> {
        self.flags.iter().find(|f| f.key == key)
    }

    /// The lifetime configured for `lifecycle` (`None`: no limit configured).
    pub fn lifetime_of(&self, lifecycle: &str) -> Option<Lifetime> {
        self.lifetimes
            .iter()
            .find(|(l, _)| *l == lifecycle)
            .map(|(_, t)| *t)
    }
}

/// The naming convention keys must follow, as declared under `naming` in the yaml.
#[derive(Debug, Clone, Copy)]
pub struct NamingRules {
    /// The pattern, e.g. `{lifecycle}_{area}_{name}`.
    pub pattern: &'static str,
    /// The declared values of the pattern's placeholders (`lifecycle`, `area`, custom ones).
    pub segments: &'static [(&'static str, &'static [&'static str])],
}

/// Why a key breaks the naming convention.
pub type NamingViolation = flags_codegen::naming::Violation;

impl NamingRules {
    /// Checks a key by the same rules the macro applies at compile time; on success, each
    /// placeholder with the part of the key it matched.
    pub fn check<'k>(&self, key: &'k str) -> Result<Vec<(&'static str, &'k str)>, NamingViolation> {
        let segments = self.segments;
        let convention = flags_codegen::naming::Convention::new(self.pattern, |name| {
            segments
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_vec())
        });
        match convention {
            Ok(c) => c.check(key),
            // The macro rejects a bad pattern, so a generated registry always has a good one.
            Err(_) => Err(NamingViolation::Empty),
        }
    }
}

/// How long a flag of a lifecycle may live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// At most this many days after `created`.
    Days(u32),
    /// No limit.
    Never,
}

/// Whether a flag is on/off or has variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    /// On or off.
    Boolean,
    /// One of several variants.
    Multivariate,
}

/// The value an application gets when PostHog cannot answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    /// A boolean flag's default.
    Bool(bool),
    /// A multivariate flag's default variant key.
    Variant(&'static str),
}

/// One variant of a multivariate flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VariantDefinition {
    /// The variant key in PostHog.
    pub key: &'static str,
    /// Its rollout percentage (the variants of a flag sum to 100).
    pub rollout_percentage: u32,
}

/// A payload declared in the yaml.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadDefinition {
    /// The variant key, or `true` for a boolean flag.
    pub key: &'static str,
    /// The payload as compact JSON text.
    pub json: &'static str,
}

/// Rollout protection declared under `guardian`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GuardianDefinition {
    /// Whether the guard job watches this flag.
    pub enabled: bool,
    /// Whether the guard job may disable the flag on a regression (else it only reports).
    pub enforce: bool,
    /// The false-alarm rate allowed over the life of a rollout.
    pub alpha: f64,
    /// Guardrail metrics besides `$exception`.
    pub metrics: &'static [GuardrailMetric],
}

/// A guardrail metric: an event, optionally a success property, and the worst acceptable drop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GuardrailMetric {
    /// The event name.
    pub event: &'static str,
    /// A boolean property that marks success; `None`: every such event is a success.
    pub success_property: Option<&'static str>,
    /// The worst acceptable relative drop of the success rate (0.1 = 10%).
    pub max_drop: f64,
}

/// Everything `flags.yaml` says about one flag.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlagDefinition {
    /// The PostHog key.
    pub key: &'static str,
    /// The generated Rust type's name.
    pub rust_name: &'static str,
    /// What the flag gates.
    pub description: &'static str,
    /// Who answers for it (`@handle` or email).
    pub owner: &'static str,
    /// Who answers when the owner cannot.
    pub backup_owner: Option<&'static str>,
    /// Tags to carry in PostHog.
    pub tags: &'static [&'static str],
    /// The lifecycle (`release`, `experiment`, …), from the key or the yaml.
    pub lifecycle: Option<&'static str>,
    /// The product area, from the key.
    pub area: Option<&'static str>,
    /// Boolean or multivariate.
    pub kind: FlagKind,
    /// The value used when PostHog cannot answer.
    pub default: DefaultValue,
    /// The variants, in order (empty for a boolean flag).
    pub variants: &'static [VariantDefinition],
    /// Payloads per variant (or `true`).
    pub payloads: &'static [PayloadDefinition],
    /// When the flag was created.
    pub created: Option<Date>,
    /// When the flag must be gone.
    pub expires: Option<Date>,
    /// The ticket that tracks it.
    pub ticket: Option<&'static str>,
    /// How to roll the change back.
    pub rollback: Option<&'static str>,
    /// Where the flag shows (web, api, …).
    pub surfaces: &'static [&'static str],
    /// Rollout protection, if any.
    pub guardian: Option<GuardianDefinition>,
    /// Archived flags keep their type (deprecated) so old uses point somewhere.
    pub archived: bool,
    /// The line of the flag's key in the yaml.
    pub line: u32,
}

impl FlagDefinition {
    /// The payload JSON declared for `key` (a variant, or `true`).
    pub fn payload(&self, key: &str) -> Option<&'static str> {
        self.payloads.iter().find(|p| p.key == key).map(|p| p.json)
    }
}

/// Implemented by every generated flag type.
pub trait FlagDef: Copy + Default + fmt::Debug + Send + Sync + 'static {
    /// The PostHog key.
    const KEY: &'static str;
    /// The flag's value in Rust: `bool` for an on/off flag, the generated variant enum for a
    /// multivariate one.
    type Value: FlagValueType;
    /// The yaml `default`, as [`FlagDef::Value`] (the same as `BooleanFlag::DEFAULT` or
    /// `VariantFlag::DEFAULT`, for code generic over every flag).
    const DEFAULT_VALUE: Self::Value;
    /// Everything the yaml says about the flag.
    fn definition() -> &'static FlagDefinition;
}

/// The Rust type of a flag's value ([`FlagDef::Value`]): `bool`, or a generated variant enum.
/// Converts to and from the value PostHog evaluates ([`crate::eval::FlagValue`]).
pub trait FlagValueType: Copy + Eq + std::hash::Hash + fmt::Debug + Send + Sync + 'static {
    /// The value as PostHog spells it.
    fn to_posthog(self) -> crate::eval::FlagValue<'static>;
    /// Reads PostHog's answer, or `None` when it does not fit this type: for a variant enum, a
    /// boolean or a variant the yaml does not declare. A boolean flag reads any variant as
    /// `true`, as PostHog's SDKs do.
    fn from_posthog(value: crate::eval::FlagValue<'_>) -> Option<Self>;
}

impl FlagValueType for bool {
    fn to_posthog(self) -> crate::eval::FlagValue<'static> {
        crate::eval::FlagValue::Bool(self)
    }

    fn from_posthog(value: crate::eval::FlagValue<'_>) -> Option<Self> {
        Some(value.is_enabled())
    }
}

impl<V: FlagVariant> FlagValueType for V {
    fn to_posthog(self) -> crate::eval::FlagValue<'static> {
        crate::eval::FlagValue::Variant(self.as_str())
    }

    fn from_posthog(value: crate::eval::FlagValue<'_>) -> Option<Self> {
        match value {
            // A linear scan: a flag has a handful of variants, and `FromStr` would allocate
            // its error.
            crate::eval::FlagValue::Variant(key) => {
                V::ALL.iter().copied().find(|v| v.as_str() == key)
            }
            crate::eval::FlagValue::Bool(_) => None,
        }
    }
}

/// An on/off flag.
pub trait BooleanFlag: FlagDef<Value = bool> {
    /// The value used when PostHog cannot answer.
    const DEFAULT: bool;
}

/// A flag with variants; `Variant` is its generated exhaustive enum.
pub trait VariantFlag: FlagDef<Value = <Self as VariantFlag>::Variant> {
    /// The generated variant enum.
    type Variant: FlagVariant;
    /// The variant used when PostHog cannot answer.
    const DEFAULT: Self::Variant;
}

/// Implemented by every generated variant enum.
pub trait FlagVariant:
    Copy
    + Eq
    + std::hash::Hash
    + fmt::Debug
    + fmt::Display
    + std::str::FromStr<Err = UnknownVariant>
    + Send
    + Sync
    + 'static
{
    /// Every variant, in yaml order.
    const ALL: &'static [Self];
    /// The variant key in PostHog.
    fn as_str(self) -> &'static str;
}

/// A string that is not a variant of the flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVariant {
    /// The flag key.
    pub flag: &'static str,
    /// The string that was given.
    pub value: String,
}

impl fmt::Display for UnknownVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a variant of flag `{}`",
            self.value, self.flag
        )
    }
}

impl std::error::Error for UnknownVariant {}
