//! Request and response types for the PostHog endpoints the client calls.
//!
//! Only the fields the runtime uses are typed; `filters` and other free-form objects stay
//! `serde_json::Value` so a new PostHog field never breaks decoding.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A feature flag as the management API returns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureFlag {
    /// Numeric id.
    pub id: i64,
    /// The flag key.
    pub key: String,
    /// The description (PostHog keeps the historical field name `name`).
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    /// Release conditions, variants and payloads (see PostHog's `filters` structure).
    #[serde(default)]
    pub filters: Value,
    /// Soft-deleted.
    #[serde(default)]
    pub deleted: bool,
    /// Enabled.
    #[serde(default)]
    pub active: bool,
    /// Archived (hidden from the default list).
    #[serde(default)]
    pub archived: bool,
    /// Tags (lower-cased by PostHog; order not stable, compare as sets).
    #[serde(default, deserialize_with = "null_default")]
    pub tags: Vec<String>,
    /// Version, bumped on every update.
    #[serde(default)]
    pub version: Option<i64>,
    /// Creation time (ISO 8601).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last update time (ISO 8601).
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// The body of a flag creation.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct NewFlag {
    /// The key (`^[a-zA-Z0-9_-]+$`, at most 400 characters).
    pub key: String,
    /// The description.
    pub name: String,
    /// Release conditions; omitted means PostHog's default `{"groups": []}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filters: Option<Value>,
    /// Enabled; omitted means PostHog's default, `true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// A partial update: only the fields that are `Some` are sent.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FlagPatch {
    /// New description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New filters (PostHog merges top-level keys; send the complete object to be safe).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filters: Option<Value>,
    /// Enable or disable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Archive or unarchive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
    /// Soft-delete (`true`) or restore (`false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
    /// Replace the tag set (prefer [`crate::client::Client::bulk_update_tags`] to add tags).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

/// The `active` filter of the flag list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActiveFilter {
    /// Only enabled flags.
    Active,
    /// Only disabled flags.
    Inactive,
    /// PostHog's `STALE` filter.
    Stale,
}

/// The `type` filter of the flag list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagType {
    /// Boolean flags.
    Boolean,
    /// Multivariate flags.
    Multivariant,
    /// Flags used by experiments.
    Experiment,
    /// Remote-config flags.
    RemoteConfig,
}

/// Filters for [`crate::client::Client::list_flags`], mapped to PostHog's real query parameters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListFlags {
    /// Flags carrying any of these tags (exact match; sent as a JSON list).
    pub tags: Vec<String>,
    /// `None`: archived flags hidden (PostHog's default). `Some(true)`: only archived flags.
    /// `Some(false)`: only non-archived flags.
    pub archived: Option<bool>,
    /// Case-insensitive "contains" search on key and description.
    pub search: Option<String>,
    /// Enabled, disabled or stale flags.
    pub active: Option<ActiveFilter>,
    /// Exact key (case-insensitive).
    pub key: Option<String>,
    /// Flag type.
    pub flag_type: Option<FlagType>,
    /// With `archived: None`, also list archived flags (a second scan with `archived=true`), so
    /// the stream holds every non-deleted flag. PostHog hides archived flags by default, yet their
    /// keys still collide on create.
    pub include_archived: bool,
}

impl ListFlags {
    /// Every non-deleted flag, archived ones included.
    pub fn everything() -> Self {
        ListFlags {
            include_archived: true,
            ..Self::default()
        }
    }

    pub(crate) fn query_pairs(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if !self.tags.is_empty() {
            q.push((
                "tags",
                serde_json::Value::from(self.tags.clone()).to_string(),
            ));
        }
        if let Some(a) = self.archived {
            q.push(("archived", a.to_string()));
        }
        if let Some(s) = &self.search {
            q.push(("search", s.clone()));
        }
        if let Some(a) = self.active {
            let v = match a {
                ActiveFilter::Active => "true",
                ActiveFilter::Inactive => "false",
                ActiveFilter::Stale => "STALE",
            };
            q.push(("active", v.to_string()));
        }
        if let Some(k) = &self.key {
            q.push(("key", k.clone()));
        }
        if let Some(t) = self.flag_type {
            let v = match t {
                FlagType::Boolean => "boolean",
                FlagType::Multivariant => "multivariant",
                FlagType::Experiment => "experiment",
                FlagType::RemoteConfig => "remote_config",
            };
            q.push(("type", v.to_string()));
        }
        q
    }
}

/// A limit/offset page as Django REST framework returns it.
#[derive(Clone, Debug, Deserialize)]
pub struct Page<T> {
    /// Total matching items.
    #[serde(default)]
    pub count: Option<u64>,
    /// Absolute URL of the next page.
    #[serde(default)]
    pub next: Option<String>,
    /// This page's items.
    pub results: Vec<T>,
}

/// `action` of `bulk_update_tags`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TagAction {
    /// Add the tags (atomic, additive: the right choice for sync).
    Add,
    /// Remove the tags.
    Remove,
    /// Replace the tag set.
    Set,
}

/// The answer of `bulk_update_tags`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct BulkTagsResult {
    /// Flags changed, with their new (sorted) tags.
    #[serde(default)]
    pub updated: Vec<TaggedFlag>,
    /// Flags not changed, with the reason.
    #[serde(default)]
    pub skipped: Vec<SkippedFlag>,
}

/// One updated flag in [`BulkTagsResult`].
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct TaggedFlag {
    /// Flag id.
    pub id: i64,
    /// Its tags now.
    pub tags: Vec<String>,
}

/// One skipped flag in [`BulkTagsResult`].
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct SkippedFlag {
    /// Flag id.
    pub id: i64,
    /// Why it was skipped.
    #[serde(default)]
    pub reason: String,
}

/// The answer of `GET …/feature_flags/:id/status/`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct FlagStatus {
    /// `active`, `stale`, `archived`, `deleted` or `unknown`.
    pub status: String,
    /// Why.
    #[serde(default, deserialize_with = "null_default")]
    pub reason: String,
    /// Rollout facts, PostHog's own "released" test included.
    #[serde(default)]
    pub rollout: Option<RolloutStatus>,
}

/// Rollout facts of [`FlagStatus`].
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct RolloutStatus {
    /// PostHog's "fully released": one unfiltered 100% condition (and one variant at 100% for
    /// multivariate flags).
    pub effectively_full_rollout: bool,
    /// Any condition has property filters.
    #[serde(default)]
    pub has_targeting_conditions: bool,
    /// Highest rollout percentage of any condition.
    #[serde(default)]
    pub max_rollout_percentage: Option<f64>,
    /// The flag has variants.
    #[serde(default)]
    pub is_multivariate: bool,
}

/// One activity-log entry of a flag.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ActivityEntry {
    /// `created`, `updated`, `deleted` or `restored`.
    pub activity: String,
    /// `FeatureFlag`.
    #[serde(default)]
    pub scope: String,
    /// The flag id, as a string.
    #[serde(default)]
    pub item_id: Option<String>,
    /// The changes.
    #[serde(default)]
    pub detail: ActivityDetail,
    /// When (ISO 8601).
    pub created_at: String,
    /// Who (free-form user object).
    #[serde(default)]
    pub user: Value,
}

/// `detail` of an [`ActivityEntry`].
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ActivityDetail {
    /// The flag key.
    #[serde(default)]
    pub name: Option<String>,
    /// Field changes.
    #[serde(default, deserialize_with = "null_default")]
    pub changes: Vec<ActivityChange>,
}

/// One field change of an [`ActivityEntry`].
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ActivityChange {
    /// `created`, `deleted` or `changed`.
    pub action: String,
    /// The field (`active`, `tags`, `version`, …).
    #[serde(default)]
    pub field: Option<String>,
    /// Value before.
    #[serde(default)]
    pub before: Value,
    /// Value after.
    #[serde(default)]
    pub after: Value,
}

/// A page-numbered page of activity.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct ActivityPage {
    pub(crate) results: Vec<ActivityEntry>,
    #[serde(default)]
    pub(crate) next: Option<String>,
}

/// An experiment.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Experiment {
    /// Numeric id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Launch time; `None` for a draft.
    #[serde(default)]
    pub start_date: Option<String>,
    /// End time; `None` while running.
    #[serde(default)]
    pub end_date: Option<String>,
    /// The flag the experiment uses.
    #[serde(default, deserialize_with = "null_default")]
    pub feature_flag_key: String,
    /// Archived.
    #[serde(default)]
    pub archived: bool,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<String>,
}

/// Filters for [`crate::client::Client::list_experiments`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListExperiments {
    /// `None`: archived experiments hidden (PostHog's default); `Some(true)`: only archived.
    pub archived: Option<bool>,
    /// `draft`, `running`, `complete` or `all`.
    pub status: Option<String>,
}

/// The answer of a HogQL query.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct QueryResponse {
    /// Column names.
    #[serde(default)]
    pub columns: Vec<String>,
    /// Rows, positional in column order.
    pub results: Vec<Vec<Value>>,
    /// Column types (exact shape unverified; kept raw).
    #[serde(default)]
    pub types: Value,
    /// More rows exist than were returned.
    #[serde(default, rename = "hasMore")]
    pub has_more: Option<bool>,
    /// The normalised query.
    #[serde(default)]
    pub hogql: Option<String>,
}

impl QueryResponse {
    /// Rows as objects keyed by column name.
    pub fn rows(&self) -> Vec<Map<String, Value>> {
        self.results
            .iter()
            .map(|row| {
                self.columns
                    .iter()
                    .cloned()
                    .zip(row.iter().cloned())
                    .collect()
            })
            .collect()
    }
}

/// The answer of [`crate::client::Client::flag_definitions`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum DefinitionsResponse {
    /// New definitions and their ETag.
    Modified {
        /// The definitions, in the evaluator's own (lenient) type: a malformed flag affects
        /// only that flag when compiled, never the whole poll.
        definitions: crate::eval::Definitions,
        /// The ETag to send next time.
        etag: Option<String>,
    },
    /// 304: the definitions matching the ETag sent are still current.
    NotModified,
}

/// The body of `/flags?v=2`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FlagsRequest {
    /// The user.
    pub distinct_id: String,
    /// Group type → group key.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub groups: Map<String, Value>,
    /// Person properties.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub person_properties: Map<String, Value>,
    /// Group type → properties.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub group_properties: Map<String, Value>,
    /// Evaluate only these flags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flag_keys: Option<Vec<String>>,
    /// The device id, for flags that bucket by device.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
}

/// The answer of `/flags?v=2`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct FlagsResponse {
    /// Key → evaluation.
    #[serde(default)]
    pub flags: BTreeMap<String, FlagDetail>,
    /// Some flags could not be computed.
    #[serde(default, rename = "errorsWhileComputingFlags")]
    pub errors_while_computing_flags: bool,
    /// Present when the project is over quota (then `flags` is empty).
    #[serde(default, rename = "quotaLimited")]
    pub quota_limited: Option<Vec<String>>,
    /// Request id.
    #[serde(default, rename = "requestId")]
    pub request_id: Option<String>,
    /// When PostHog evaluated, in ms since the epoch.
    #[serde(default, rename = "evaluatedAt")]
    pub evaluated_at: Option<i64>,
}

/// One flag's evaluation in [`FlagsResponse`].
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct FlagDetail {
    /// Key.
    pub key: String,
    /// Enabled for this user.
    pub enabled: bool,
    /// Variant, for multivariate flags.
    #[serde(default)]
    pub variant: Option<String>,
    /// Why (free-form `{code, condition_index, description}`).
    #[serde(default)]
    pub reason: Value,
    /// `{id, version, description, payload}`.
    #[serde(default)]
    pub metadata: Value,
    /// Evaluation failed.
    #[serde(default)]
    pub failed: bool,
}

/// One event for batch capture.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CaptureEvent {
    /// Event name.
    pub event: String,
    /// The user.
    pub distinct_id: String,
    /// Properties.
    #[serde(default)]
    pub properties: Map<String, Value>,
    /// ISO-8601 time; PostHog uses the arrival time when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// De-duplication id; the client fills one in so a retried batch is not counted twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
}
