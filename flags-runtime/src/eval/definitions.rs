//! The `/flags/definitions` response (local evaluation), as PostHog serves it.
//!
//! Only the envelope is typed. Each flag and cohort stays a [`serde_json::Value`] because the
//! reference SDK reads them dynamically: a malformed field must make *that flag* behave as
//! the SDK does (unsupported, erroring, or ignored), not reject the whole document. The
//! compiler ([`super::compile`]) interprets every field.

use serde::Deserialize;
use serde_json::{Map, Value};

/// The body of `GET /flags/definitions` (and of the legacy local-evaluation endpoint).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Definitions {
    /// All non-deleted flags, inactive ones included.
    #[serde(deserialize_with = "null_as_default")]
    pub flags: Vec<Value>,
    /// Group type index (as a string) → group type name, e.g. `{"0": "organization"}`.
    #[serde(deserialize_with = "null_as_default")]
    pub group_type_mapping: Map<String, Value>,
    /// Cohort id (as a string) → property group (`{"type": "OR", "values": [...]}`).
    #[serde(deserialize_with = "null_as_default")]
    pub cohorts: Map<String, Value>,
    /// `2` switches off the legacy truthy/falsy matching of `exact` filters.
    pub property_matching_version: Option<Value>,
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

impl Definitions {
    /// Parses a definitions document.
    pub fn from_json_str(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Reads a definitions document from a JSON value.
    pub fn from_value(value: &Value) -> Result<Self, serde_json::Error> {
        Definitions::deserialize(value)
    }
}
