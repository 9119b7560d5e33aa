//! [`Finding`]: something a job reports about a flag, shared by the sync and track reports.

use serde::Serialize;

use super::tags::{backup_owner_from_tags, owner_from_tags};
use crate::client::FeatureFlag;
use crate::registry::FlagDefinition;

/// What kind of finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FindingKind {
    /// A registry key is held by an archived PostHog flag, so the flag cannot be created.
    ArchivedKey,
    /// A registry key is held by a soft-deleted PostHog flag that still reserves it (or by a flag
    /// the flag list did not show), so PostHog refused to create the flag.
    ReservedKey,
    /// A PostHog flag that is not in the registry.
    Orphan,
    /// A PostHog key that breaks the registry's naming convention (and has no `naming-exempt`
    /// tag).
    Naming,
    /// The variants in PostHog differ from the yaml's (reported, never changed).
    VariantDrift,
    /// A metadata tag in PostHog contradicts the registry (an old owner or expiry); sync only
    /// adds tags, so it stays until someone removes it.
    MetadataDrift,
}

/// The groups `--fail-on` selects findings by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FindingCategory {
    /// PostHog flags missing from the registry.
    Orphans,
    /// Keys that break the naming convention.
    Naming,
    /// PostHog differs from the registry in a way the run did not (or may not) fix.
    Drift,
}

impl FindingKind {
    /// The snake_case name used in reports (`archived_key`, `orphan`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::ArchivedKey => "archived_key",
            FindingKind::ReservedKey => "reserved_key",
            FindingKind::Orphan => "orphan",
            FindingKind::Naming => "naming",
            FindingKind::VariantDrift => "variant_drift",
            FindingKind::MetadataDrift => "metadata_drift",
        }
    }

    /// The `--fail-on` group of this kind.
    pub fn category(self) -> FindingCategory {
        match self {
            FindingKind::Orphan => FindingCategory::Orphans,
            FindingKind::Naming => FindingCategory::Naming,
            FindingKind::ArchivedKey
            | FindingKind::ReservedKey
            | FindingKind::VariantDrift
            | FindingKind::MetadataDrift => FindingCategory::Drift,
        }
    }
}

impl std::fmt::Display for FindingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something a job reports about one flag, addressed to its owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What kind of finding.
    pub kind: FindingKind,
    /// The flag key.
    pub key: String,
    /// Who should act: the registry's owner, or for a flag the registry does not know, the
    /// `owner:` tag in PostHog.
    pub owner: Option<String>,
    /// The backup owner, from the same source.
    pub backup_owner: Option<String>,
    /// One sentence saying what is wrong and what to do.
    pub message: String,
    /// The line of the flag in the registry yaml, when the registry has it.
    pub line: Option<u32>,
}

impl Finding {
    /// A finding about a registry flag: owner, backup owner and line come from the yaml.
    pub fn for_definition(kind: FindingKind, def: &FlagDefinition, message: String) -> Finding {
        Finding {
            kind,
            key: def.key.to_owned(),
            owner: Some(def.owner.to_owned()),
            backup_owner: def.backup_owner.map(str::to_owned),
            message,
            line: Some(def.line),
        }
    }

    /// A finding about a PostHog flag the registry does not know: owners from its tags.
    pub fn for_posthog_flag(kind: FindingKind, flag: &FeatureFlag, message: String) -> Finding {
        Finding {
            kind,
            key: flag.key.clone(),
            owner: owner_from_tags(&flag.tags),
            backup_owner: backup_owner_from_tags(&flag.tags),
            message,
            line: None,
        }
    }
}
