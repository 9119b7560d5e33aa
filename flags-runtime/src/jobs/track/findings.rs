//! What a track run reports: one [`Finding`] per flag and rule, each with the people to tell.

use serde_json::{Value, json};

use crate::jobs::inventory::{self, FindingKind};
use crate::registry::Date;
use flags_codegen::date;

/// How a release was detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleasedBy {
    /// The flag is rolled out to everyone (PostHog's `effectively_full_rollout`).
    Rollout,
    /// The flag's experiment ended.
    Experiment,
}

/// The rule a finding comes from, with its facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Newly released: first seen released on `on` (or its experiment ended that day).
    Released {
        /// The day recorded in PostHog.
        on: Date,
        /// Rollout or experiment.
        by: ReleasedBy,
    },
    /// Released at least `lifetime` days ago and still in PostHog: time to remove it.
    Stale {
        /// The recorded release day.
        released_on: Date,
        /// Days since then.
        days: i64,
        /// The lifetime of the flag's lifecycle, in days.
        lifetime: u32,
    },
    /// Its `expires` date has passed.
    Expired {
        /// The `expires` date.
        on: Date,
        /// Days since then.
        days: i64,
    },
    /// A finding sync reports too (orphans, naming violations, registry keys held by archived
    /// flags), from the shared inventory.
    Shared {
        /// Its kind.
        kind: FindingKind,
        /// What is wrong and what to do.
        message: String,
    },
}

impl Rule {
    /// The rule's name in machine output: `released`, `stale`, `expired`, or the shared kind
    /// (`orphan`, `naming`, `archived_key`).
    pub fn kind(&self) -> &'static str {
        match self {
            Rule::Released { .. } => "released",
            Rule::Stale { .. } => "stale",
            Rule::Expired { .. } => "expired",
            Rule::Shared { kind, .. } => kind.as_str(),
        }
    }

    /// Sort order within an owner's list: what needs doing first.
    pub(crate) fn rank(&self) -> (u8, Option<FindingKind>) {
        match self {
            Rule::Expired { .. } => (0, None),
            Rule::Stale { .. } => (1, None),
            Rule::Released { .. } => (2, None),
            Rule::Shared { kind, .. } => (3, Some(*kind)),
        }
    }
}

/// One thing to tell an owner about one flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The PostHog flag key.
    pub key: String,
    /// The owner from `flags.yaml`; `None` for flags the registry does not declare.
    pub owner: Option<String>,
    /// The backup owner from `flags.yaml`.
    pub backup_owner: Option<String>,
    /// The flag's lifecycle (`release`, `experiment`, …), when known.
    pub lifecycle: Option<String>,
    /// The rule and its facts.
    pub rule: Rule,
}

impl Finding {
    /// One sentence saying what is wrong and what to do, without the key or owner.
    pub fn message(&self) -> String {
        match &self.rule {
            Rule::Released { on, by } => match by {
                ReleasedBy::Rollout => {
                    format!("released to everyone (first seen {on}); plan its removal")
                }
                ReleasedBy::Experiment => {
                    format!("its experiment ended on {on}; ship the winner and plan the removal")
                }
            },
            Rule::Stale {
                released_on,
                days,
                lifetime,
            } => format!(
                "released {} ago ({released_on}), past the {lifetime}-day lifetime of {} flags: remove the flag and its code",
                date::days(*days),
                self.lifecycle.as_deref().unwrap_or("its")
            ),
            Rule::Expired { on, days } => {
                let backup = match &self.backup_owner {
                    Some(b) => format!("backup owner {b}"),
                    None => "no backup owner".to_owned(),
                };
                format!(
                    "expired on {on} ({} ago; {backup}): remove it, or move `expires` with a reason",
                    date::days(*days)
                )
            }
            Rule::Shared { message, .. } => message.clone(),
        }
    }

    /// The finding as JSON (dates as `YYYY-MM-DD`).
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "kind": self.rule.kind(),
            "key": self.key,
            "owner": self.owner,
            "backup_owner": self.backup_owner,
            "lifecycle": self.lifecycle,
            "message": self.message(),
        });
        let extra = match &self.rule {
            Rule::Released { on, by } => json!({
                "released_at": on.to_string(),
                "released_by": match by { ReleasedBy::Rollout => "rollout", ReleasedBy::Experiment => "experiment" },
            }),
            Rule::Stale {
                released_on,
                days,
                lifetime,
            } => {
                json!({ "released_at": released_on.to_string(), "days": days, "lifetime_days": lifetime })
            }
            Rule::Expired { on, days } => json!({ "expires": on.to_string(), "days": days }),
            Rule::Shared { .. } => json!({}),
        };
        if let (Some(obj), Some(extra)) = (v.as_object_mut(), extra.as_object()) {
            obj.extend(extra.clone());
        }
        v
    }

    /// A finding of the shared inventory (owners from the registry, or from the PostHog flag's
    /// `owner:` tags when the registry does not know it).
    pub fn shared(f: inventory::Finding) -> Finding {
        Finding {
            key: f.key,
            owner: f.owner,
            backup_owner: f.backup_owner,
            lifecycle: None,
            rule: Rule::Shared {
                kind: f.kind,
                message: f.message,
            },
        }
    }

    /// Order for digests: by owner (unowned last), then rule, then key.
    pub(crate) fn sort_key(&self) -> (bool, String, (u8, Option<FindingKind>), String) {
        (
            self.owner.is_none(),
            self.owner.clone().unwrap_or_default(),
            self.rule.rank(),
            self.key.clone(),
        )
    }
}
