//! The typed `flags.yaml` model, with the position of everything a diagnostic may point at.
//!
//! [`crate::read`] builds it from the YAML tree and [`crate::validate`] completes it (Rust
//! identifiers, lifecycle and area taken from the key). Code generation and `flagsync check`
//! read only this model.

use crate::date::Date;
use crate::diagnostic::Pos;

/// The schema version this crate reads.
pub const SCHEMA_VERSION: u32 = 1;

/// A value and where it stands in the yaml.
#[derive(Debug, Clone, PartialEq)]
pub struct Sp<T> {
    /// The value.
    pub value: T,
    /// Its position.
    pub pos: Pos,
}

impl<T> Sp<T> {
    /// A value at a position.
    pub fn new(value: T, pos: Pos) -> Self {
        Sp { value, pos }
    }
}

/// The whole registry.
#[derive(Debug, Clone, PartialEq)]
pub struct Registry {
    /// `version` (default 1).
    pub version: u32,
    /// `naming`.
    pub naming: Naming,
    /// `lifetimes`: days a flag of each lifecycle may live, in file order.
    pub lifetimes: Vec<(Sp<String>, Lifetime)>,
    /// `flags`, in file order.
    pub flags: Vec<Flag>,
}

impl Registry {
    /// The lifetime configured for `lifecycle`, if any.
    pub fn lifetime_of(&self, lifecycle: &str) -> Option<Lifetime> {
        self.lifetimes
            .iter()
            .find(|(name, _)| name.value == lifecycle)
            .map(|(_, l)| *l)
    }
}

/// The naming convention.
#[derive(Debug, Clone, PartialEq)]
pub struct Naming {
    /// `pattern` (default `{lifecycle}_{area}_{name}`).
    pub pattern: Sp<String>,
    /// `lifecycles`: values of `{lifecycle}`.
    pub lifecycles: Vec<Sp<String>>,
    /// `areas`: values of `{area}`.
    pub areas: Vec<Sp<String>>,
    /// `segments`: values of other placeholders of a custom pattern.
    pub segments: Vec<(Sp<String>, Vec<Sp<String>>)>,
}

impl Naming {
    /// The declared values of placeholder `name`, or `None` for a free placeholder.
    pub fn values_of(&self, name: &str) -> Option<Vec<&str>> {
        let list = match name {
            "lifecycle" => &self.lifecycles,
            "area" => &self.areas,
            other => &self.segments.iter().find(|(n, _)| n.value == other)?.1,
        };
        Some(list.iter().map(|v| v.value.as_str()).collect())
    }
}

/// How long a flag of a lifecycle may live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// At most this many days after `created`.
    Days(u32),
    /// Forever (e.g. `tier` flags).
    Never,
}

/// One flag.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    /// The PostHog key (the mapping key under `flags`).
    pub key: Sp<String>,
    /// The Rust type name (UpperCamelCase of the key); set by validation.
    pub ident: String,
    /// Whether code can be generated for it (its identifier is valid and unique).
    pub emit: bool,
    /// The lifecycle, from the key or the `lifecycle` field.
    pub lifecycle: Option<String>,
    /// The area, from the key.
    pub area: Option<String>,
    /// `lifecycle` (only for patterns without `{lifecycle}`).
    pub lifecycle_field: Option<Sp<String>>,
    /// `description` (required, non-empty).
    pub description: Sp<String>,
    /// `owner` (required): `@handle` or an email.
    pub owner: Sp<String>,
    /// `backup_owner`.
    pub backup_owner: Option<Sp<String>>,
    /// `tags`.
    pub tags: Vec<Sp<String>>,
    /// `default` (required).
    pub default: Option<Sp<DefaultValue>>,
    /// `variants`, in order; empty for a boolean flag.
    pub variants: Vec<Variant>,
    /// False when an entry of `variants` was dropped (duplicate, bad percentage).
    pub variants_complete: bool,
    /// Where `variants` stands.
    pub variants_pos: Option<Pos>,
    /// `payloads`: JSON per variant or for `true`.
    pub payloads: Vec<Payload>,
    /// `created`.
    pub created: Option<Sp<Date>>,
    /// `expires`.
    pub expires: Option<Sp<Date>>,
    /// `ticket`.
    pub ticket: Option<Sp<String>>,
    /// `rollback`: how to undo the change.
    pub rollback: Option<Sp<String>>,
    /// `surfaces`: where the flag shows (web, api, …).
    pub surfaces: Vec<Sp<String>>,
    /// `guardian`.
    pub guardian: Option<Guardian>,
    /// `archived`.
    pub archived: bool,
}

impl Flag {
    /// A multivariate flag has variants.
    pub fn is_multivariate(&self) -> bool {
        !self.variants.is_empty()
    }

    /// The name of the generated variant enum.
    pub fn variant_ident(&self) -> String {
        format!("{}Variant", self.ident)
    }

    /// The default the application gets: the declared one, else (after an error was reported)
    /// the first variant of a multivariate flag or `false`.
    pub fn resolved_default(&self) -> DefaultValue {
        match (&self.default, self.variants.first()) {
            (Some(d), _) => d.value.clone(),
            (None, Some(first)) => DefaultValue::Variant(first.key.value.clone()),
            (None, None) => DefaultValue::Bool(false),
        }
    }
}

/// The `default` of a flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefaultValue {
    /// A boolean flag's default.
    Bool(bool),
    /// A multivariate flag's default variant.
    Variant(String),
}

/// One variant of a multivariate flag.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// Its key.
    pub key: Sp<String>,
    /// The Rust enum variant name; set by validation.
    pub ident: String,
    /// Its rollout percentage.
    pub rollout: Sp<u32>,
}

/// A payload: JSON for a variant, or for `true` on a boolean flag.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload {
    /// The variant key, or `true`.
    pub key: Sp<String>,
    /// The payload as compact JSON text.
    pub json: String,
}

/// `guardian`: rollout protection.
#[derive(Debug, Clone, PartialEq)]
pub struct Guardian {
    /// Where the `guardian` mapping stands.
    pub pos: Pos,
    /// `enabled` (default true).
    pub enabled: bool,
    /// `enforce`: disable the flag on a regression (default false: report only).
    pub enforce: bool,
    /// `alpha`: the false-alarm rate over the life of a rollout (default 0.05).
    pub alpha: f64,
    /// `metrics`: guardrail metrics.
    pub metrics: Vec<Metric>,
}

/// Default `alpha` of a guardian.
pub const DEFAULT_ALPHA: f64 = 0.05;

/// Default `max_drop` of a guardrail metric.
pub const DEFAULT_MAX_DROP: f64 = 0.1;

/// A guardrail metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// `event`: the event name.
    pub event: Sp<String>,
    /// `success_property`: a boolean property marking success; absent = the event is success.
    pub success_property: Option<Sp<String>>,
    /// `max_drop`: the worst acceptable relative drop of the success rate (default 0.1).
    pub max_drop: f64,
}
