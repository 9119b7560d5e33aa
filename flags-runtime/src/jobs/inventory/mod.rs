//! One read of every PostHog flag, indexed by key, and the findings sync and track share.
//!
//! PostHog's flag list hides archived flags unless asked, yet their keys still collide on
//! create (posthog-api.md §1.2, §1.4), so [`Inventory::fetch`] scans both: every non-deleted
//! flag, once, in a constant number of list pages. Soft-deleted flags are never listed; the
//! newest PostHog frees their key on create, except when an experiment still references one
//! (`Cannot reuse key …`), and older versions answer `unique`. Neither can be seen before a
//! create, so [`reserved_key_finding`] turns that refusal into a finding.
//!
//! The shared findings: a registry key held by an archived flag ([`archived_key_findings`]),
//! PostHog flags missing from the registry ([`orphan_findings`]) and PostHog keys that break
//! the registry's naming convention unless tagged `naming-exempt` ([`naming_findings`]).
//! Archived PostHog flags are done with, so they are never reported as orphans or misnamed.

mod finding;
mod tags;

use std::collections::{HashMap, HashSet};

use futures_util::TryStreamExt;
use futures_util::future::try_join;

pub use finding::{Finding, FindingCategory, FindingKind};
pub use tags::{
    BACKUP_OWNER_PREFIX, EXPIRES_PREFIX, GUARDIAN, GUARDIAN_ENFORCE, LIFECYCLE_PREFIX,
    METADATA_PREFIXES, NAMING_EXEMPT, OWNER_PREFIX, backup_owner_from_tags, desired_tags, has_tag,
    metadata_tags, normalize_tag, normalize_tags, owner_from_tags, stale_metadata_tags, tag_value,
};

use crate::client::{self, Client, FeatureFlag, ListFlags};
use crate::registry::{FlagDefinition, Registry};

/// Every non-deleted PostHog flag (archived included), indexed by key.
#[derive(Clone, Debug, Default)]
pub struct Inventory {
    flags: Vec<FeatureFlag>,
    by_key: HashMap<String, usize>,
}

impl Inventory {
    /// Reads every flag of the project: the default list and the archived list, every page.
    /// The two scans run side by side (each follows its own `next` links).
    pub async fn fetch(client: &Client) -> Result<Inventory, client::Error> {
        let archived = ListFlags {
            archived: Some(true),
            ..ListFlags::default()
        };
        let (mut flags, archived): (Vec<FeatureFlag>, Vec<FeatureFlag>) = try_join(
            client.list_flags(&ListFlags::default()).try_collect(),
            client.list_flags(&archived).try_collect(),
        )
        .await?;
        flags.extend(archived);
        Ok(Inventory::from_flags(flags))
    }

    /// An inventory of these flags. Soft-deleted ones are dropped (PostHog does not list them),
    /// a flag listed twice (archived between two scans) is kept once, and if two flags share a
    /// key, the one that is not archived wins.
    pub fn from_flags(flags: Vec<FeatureFlag>) -> Inventory {
        let mut ids = HashSet::with_capacity(flags.len());
        let flags: Vec<FeatureFlag> = flags
            .into_iter()
            .filter(|f| !f.deleted && ids.insert(f.id))
            .collect();
        let mut by_key: HashMap<String, usize> = HashMap::with_capacity(flags.len());
        for (i, f) in flags.iter().enumerate() {
            match by_key.get(&f.key) {
                Some(&j) if !flags[j].archived || f.archived => {}
                _ => {
                    by_key.insert(f.key.clone(), i);
                }
            }
        }
        Inventory { flags, by_key }
    }

    /// The flag holding `key` (keys are compared exactly, as PostHog's uniqueness check does).
    pub fn get(&self, key: &str) -> Option<&FeatureFlag> {
        self.by_key.get(key).map(|&i| &self.flags[i])
    }

    /// Every flag, in the order PostHog listed them (newest first, archived ones last).
    pub fn flags(&self) -> &[FeatureFlag] {
        &self.flags
    }

    /// How many flags.
    pub fn len(&self) -> usize {
        self.flags.len()
    }

    /// Whether the project has no flags.
    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
    }
}

/// Every shared finding: archived keys, orphans, naming violations (in that order).
pub fn shared_findings(registry: &Registry, inventory: &Inventory) -> Vec<Finding> {
    let mut out = archived_key_findings(registry, inventory);
    out.extend(orphan_findings(registry, inventory));
    out.extend(naming_findings(registry, inventory));
    out
}

/// Registry flags (not archived in the yaml) whose key is held by an archived PostHog flag.
/// The flag cannot be created until someone restores the PostHog flag or renames the key.
pub fn archived_key_findings(registry: &Registry, inventory: &Inventory) -> Vec<Finding> {
    registry
        .flags
        .iter()
        .filter(|def| !def.archived)
        .filter_map(|def| {
            let flag = inventory.get(def.key).filter(|f| f.archived)?;
            Some(Finding::for_definition(
                FindingKind::ArchivedKey,
                def,
                format!(
                    "the key is held by archived PostHog flag #{}; unarchive it in PostHog, or \
                     rename the flag in the registry",
                    flag.id
                ),
            ))
        })
        .collect()
}

/// PostHog flags (not archived) whose key is not in the registry.
pub fn orphan_findings(registry: &Registry, inventory: &Inventory) -> Vec<Finding> {
    inventory
        .flags()
        .iter()
        .filter(|f| !f.archived && registry.get(&f.key).is_none())
        .map(|f| {
            Finding::for_posthog_flag(
                FindingKind::Orphan,
                f,
                format!(
                    "PostHog flag #{} is not in the registry; add it to the yaml, or archive it \
                     in PostHog",
                    f.id
                ),
            )
        })
        .collect()
}

/// PostHog keys (flags not archived, without a `naming-exempt` tag) that break the registry's
/// naming convention, checked with the same matcher as the compiler.
pub fn naming_findings(registry: &Registry, inventory: &Inventory) -> Vec<Finding> {
    inventory
        .flags()
        .iter()
        .filter(|f| !f.archived && !has_tag(&f.tags, NAMING_EXEMPT))
        .filter_map(|f| {
            let violation = registry.naming.check(&f.key).err()?;
            let message = format!(
                "the key breaks the naming convention `{}`: {violation}; rename it, or tag it \
                 `{NAMING_EXEMPT}` in PostHog",
                registry.naming.pattern
            );
            Some(match registry.get(&f.key) {
                Some(def) => Finding::for_definition(FindingKind::Naming, def, message),
                None => Finding::for_posthog_flag(FindingKind::Naming, f, message),
            })
        })
        .collect()
}

/// Turns PostHog's refusal to create `def` into a [`FindingKind::ReservedKey`] finding when
/// the refusal means the key is taken by a flag the inventory could not see: the newest
/// PostHog's `Cannot reuse key '…'` (a soft-deleted flag an experiment still references), or
/// `unique` (older versions, whose key constraint spans soft-deleted flags; or a flag created
/// during the run). Any other error is not a finding (`None`): it is a failed write.
pub fn reserved_key_finding(def: &FlagDefinition, error: &client::Error) -> Option<Finding> {
    let client::Error::Api {
        status: 400,
        code,
        detail,
        ..
    } = error
    else {
        return None;
    };
    let reason = if detail.contains("Cannot reuse key") {
        "a soft-deleted PostHog flag still reserves the key"
    } else if code.as_deref() == Some("unique") {
        "PostHog says the key is taken, by a flag its list does not show (soft-deleted, or \
         created during this run)"
    } else {
        return None;
    };
    Some(Finding::for_definition(
        FindingKind::ReservedKey,
        def,
        format!("{reason}; PostHog said: {detail}"),
    ))
}
