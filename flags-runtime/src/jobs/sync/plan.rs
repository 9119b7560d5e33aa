//! The plan: what sync would write to bring PostHog in line with the registry, and what it
//! will not fix but reports. Computed from one [`Inventory`], without any request.
//!
//! The rules (issue 4): never delete; never touch `active`, conditions or rollout; a missing
//! flag is created inactive at 0% (multivariate ones with the yaml's variants), with the
//! description as `name` and the registry's tags plus metadata tags; tags are only added;
//! descriptions and tags are compared as PostHog stores them (`name` trimmed, tags trimmed and
//! lower-cased), so a run after a successful one plans nothing. Flags archived in the yaml, and
//! archived PostHog flags, are left alone.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::client::{FeatureFlag, NewFlag};
use crate::jobs::inventory::{
    self, Finding, FindingKind, Inventory, desired_tags, normalize_tags, stale_metadata_tags,
};
use crate::registry::{FlagDefinition, FlagKind, Registry};

/// A flag to create.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlannedCreate {
    /// The body sent to PostHog.
    pub flag: NewFlag,
    /// The line of the flag in the registry yaml.
    pub line: u32,
}

/// A description (`name`) to replace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedDescription {
    /// The PostHog flag id.
    pub id: i64,
    /// The key.
    pub key: String,
    /// The description in PostHog now.
    pub current: String,
    /// The registry's description (trimmed, as PostHog stores it).
    pub wanted: String,
    /// The line of the flag in the registry yaml.
    pub line: u32,
}

/// Tags to add to one flag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedTags {
    /// The PostHog flag id.
    pub id: i64,
    /// The key.
    pub key: String,
    /// The tags PostHog lacks, as it will store them (sorted).
    pub add: Vec<String>,
    /// The line of the flag in the registry yaml.
    pub line: u32,
}

/// What sync would write, and what it reports without writing.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Plan {
    /// Flags to create.
    pub creates: Vec<PlannedCreate>,
    /// Descriptions to replace.
    pub descriptions: Vec<PlannedDescription>,
    /// Tags to add.
    pub tags: Vec<PlannedTags>,
    /// Findings: the shared ones ([`inventory::shared_findings`]), variant drift and stale
    /// metadata tags.
    pub findings: Vec<Finding>,
    /// Registry flags already in line.
    pub in_line: usize,
}

impl Plan {
    /// How many changes the plan holds (one per flag and kind of change).
    pub fn changes(&self) -> usize {
        self.creates.len() + self.descriptions.len() + self.tags.len()
    }

    /// Whether applying the plan writes nothing.
    pub fn is_empty(&self) -> bool {
        self.changes() == 0
    }
}

/// Plans the sync of `registry` into the project described by `inventory`.
pub fn plan(registry: &Registry, inventory: &Inventory) -> Plan {
    let mut plan = Plan {
        findings: inventory::shared_findings(registry, inventory),
        ..Plan::default()
    };
    for def in registry.flags.iter().filter(|d| !d.archived) {
        let Some(flag) = inventory.get(def.key) else {
            plan.creates.push(PlannedCreate {
                flag: new_flag(def),
                line: def.line,
            });
            continue;
        };
        if flag.archived {
            continue; // an `archived_key` finding already
        }
        let mut in_line = true;
        let wanted = def.description.trim();
        if flag.name.trim() != wanted {
            in_line = false;
            plan.descriptions.push(PlannedDescription {
                id: flag.id,
                key: flag.key.clone(),
                current: flag.name.clone(),
                wanted: wanted.to_owned(),
                line: def.line,
            });
        }
        let have = normalize_tags(flag.tags.iter().map(String::as_str));
        let add: Vec<String> = desired_tags(def).difference(&have).cloned().collect();
        if !add.is_empty() {
            in_line = false;
            plan.tags.push(PlannedTags {
                id: flag.id,
                key: flag.key.clone(),
                add,
                line: def.line,
            });
        }
        if let Some(drift) = variant_drift(def, flag) {
            in_line = false;
            plan.findings.push(Finding::for_definition(
                FindingKind::VariantDrift,
                def,
                drift,
            ));
        }
        let stale = stale_metadata_tags(def, &flag.tags);
        if !stale.is_empty() {
            plan.findings.push(Finding::for_definition(
                FindingKind::MetadataDrift,
                def,
                format!(
                    "PostHog still carries {} that the registry no longer says; sync only adds \
                     tags, so remove {} in PostHog",
                    stale.join(", "),
                    if stale.len() == 1 { "it" } else { "them" }
                ),
            ));
        }
        if in_line {
            plan.in_line += 1;
        }
    }
    plan
}

/// The flag sync creates for `def`: inactive, one condition at 0%, the description as `name`,
/// the registry's tags plus metadata tags, and for a multivariate flag the yaml's variants (and
/// payloads).
pub fn new_flag(def: &FlagDefinition) -> NewFlag {
    let mut filters = json!({ "groups": [{ "properties": [], "rollout_percentage": 0 }] });
    if def.kind == FlagKind::Multivariate {
        let variants: Vec<Value> = def
            .variants
            .iter()
            .map(|v| json!({ "key": v.key, "rollout_percentage": v.rollout_percentage }))
            .collect();
        filters["multivariate"] = json!({ "variants": variants });
    }
    if !def.payloads.is_empty() {
        // PostHog stores each payload as a JSON-encoded string, keyed by variant (or `true`).
        let payloads: Map<String, Value> = def
            .payloads
            .iter()
            .map(|p| (p.key.to_owned(), Value::String(p.json.to_owned())))
            .collect();
        filters["payloads"] = Value::Object(payloads);
    }
    NewFlag {
        key: def.key.to_owned(),
        name: def.description.trim().to_owned(),
        filters: Some(filters),
        active: Some(false),
        tags: desired_tags(def).into_iter().collect(),
    }
}

/// How the variants in PostHog differ from the yaml's, if they do (keys in order, and each
/// variant's percentage).
pub fn variant_drift(def: &FlagDefinition, flag: &FeatureFlag) -> Option<String> {
    let posthog: Vec<(String, Option<f64>)> = flag.filters["multivariate"]["variants"]
        .as_array()
        .map(|vs| {
            vs.iter()
                .map(|v| {
                    (
                        v["key"].as_str().unwrap_or_default().to_owned(),
                        v["rollout_percentage"].as_f64(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let describe = |vs: &mut dyn Iterator<Item = (String, Option<f64>)>| -> String {
        let parts: Vec<String> = vs
            .map(|(k, p)| match p {
                Some(p) => format!("{k} {p}%"),
                None => format!("{k} ?%"),
            })
            .collect();
        if parts.is_empty() {
            "none (a boolean flag)".to_owned()
        } else {
            parts.join(", ")
        }
    };
    let yaml: Vec<(String, Option<f64>)> = def
        .variants
        .iter()
        .map(|v| (v.key.to_owned(), Some(f64::from(v.rollout_percentage))))
        .collect();
    if posthog == yaml {
        return None;
    }
    Some(format!(
        "variants differ: the yaml has {}, PostHog has {}; sync never changes variants, so align \
         one with the other",
        describe(&mut yaml.into_iter()),
        describe(&mut posthog.into_iter())
    ))
}
