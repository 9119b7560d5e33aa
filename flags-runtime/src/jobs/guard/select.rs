//! Which flags a run watches: the registry's guarded flags, matched by key against the one list
//! of PostHog's flags (every page, so flags older than the newest 200 are seen), with each
//! flag's arms, configured split, window and cooldown.

use serde::Serialize;
use serde_json::Value;

use crate::client::FeatureFlag;
use crate::registry::{FlagDefinition, FlagKind, GuardianDefinition, Registry};

use super::time::parse_ms;

/// The arms a flag is judged on.
#[derive(Clone, Debug, PartialEq)]
pub struct Arms {
    /// The baseline: `false` for a boolean flag, `control` (else the first variant) for a
    /// multivariate one.
    pub control: String,
    /// Each compared with the control: `true`, or the other variants.
    pub treatments: Vec<String>,
    /// The configured share of each arm (control first, then the treatments, summing to 1),
    /// when it is known: the yaml's variant percentages, or for a boolean flag PostHog's single
    /// unfiltered release condition. `None`: no sample-ratio check is possible.
    pub expected: Option<Vec<f64>>,
}

impl Arms {
    /// The arms of `definition`, with the split PostHog's `filters` configure.
    pub fn of(definition: &FlagDefinition, filters: &Value) -> Arms {
        match definition.kind {
            FlagKind::Boolean => Arms {
                control: "false".into(),
                treatments: vec!["true".into()],
                // At 0% or 100% there is no second arm to compare, and no split to check.
                expected: boolean_rollout(filters)
                    .filter(|r| *r > 0.0 && *r < 1.0)
                    .map(|r| vec![1.0 - r, r]),
            },
            FlagKind::Multivariate => {
                let variants = definition.variants;
                let control = variants
                    .iter()
                    .find(|v| v.key == "control")
                    .or_else(|| variants.first());
                let Some(control) = control else {
                    return Arms {
                        control: "control".into(),
                        treatments: Vec::new(),
                        expected: None,
                    };
                };
                let treatments: Vec<_> = variants.iter().filter(|v| v.key != control.key).collect();
                let total: u32 = variants.iter().map(|v| v.rollout_percentage).sum();
                let expected = (total > 0).then(|| {
                    std::iter::once(control)
                        .chain(treatments.iter().copied())
                        .map(|v| f64::from(v.rollout_percentage) / f64::from(total))
                        .collect()
                });
                Arms {
                    control: control.key.to_owned(),
                    treatments: treatments.iter().map(|v| v.key.to_owned()).collect(),
                    expected,
                }
            }
        }
    }

    /// Control first, then the treatments.
    pub fn all(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.control.as_str()).chain(self.treatments.iter().map(String::as_str))
    }
}

/// The share of persons a boolean flag serves `true` to, when PostHog's filters make it a
/// plain random split: one release condition, no property filters, no holdout. A missing
/// `rollout_percentage` means 100%.
fn boolean_rollout(filters: &Value) -> Option<f64> {
    let groups = filters.get("groups")?.as_array()?;
    let [group] = groups.as_slice() else {
        return None;
    };
    let filtered = group
        .get("properties")
        .and_then(Value::as_array)
        .is_some_and(|p| !p.is_empty());
    let holdout = filters.get("holdout").is_some_and(|h| !h.is_null());
    if filtered || holdout {
        return None;
    }
    let percent = match group.get("rollout_percentage") {
        None | Some(Value::Null) => 100.0,
        Some(v) => v.as_f64()?,
    };
    Some((percent / 100.0).clamp(0.0, 1.0))
}

/// A guarded flag this run judges.
#[derive(Clone, Debug)]
pub struct Watched {
    /// The registry's definition.
    pub definition: &'static FlagDefinition,
    /// Its guardian settings.
    pub guardian: GuardianDefinition,
    /// PostHog's id, for the disable.
    pub id: i64,
    /// When PostHog last saved the flag (ms since the epoch), if it says.
    pub updated_ms: Option<i64>,
    /// Start of the flag's window: its last edit, or `now − window` if that is later.
    pub since_ms: i64,
    /// The arms and their configured split.
    pub arms: Arms,
}

/// Why a guarded flag is not judged at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// No flag with this key among PostHog's non-archived flags (not synced yet, archived, or
    /// deleted).
    NotInPosthog,
    /// The flag is off in PostHog: there is no rollout to protect.
    Inactive,
}

/// A guarded flag that is not judged, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The flag key.
    pub flag: String,
    /// Why.
    pub reason: SkipReason,
}

/// What a run does with each guarded flag.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Judged on data.
    pub watched: Vec<Watched>,
    /// Edited too recently: `(flag, ms of cooldown left)`.
    pub cooling: Vec<(Watched, i64)>,
    /// Not judged.
    pub skipped: Vec<Skipped>,
}

/// Sorts the registry's guarded flags (guardian enabled, not archived) into watched, cooling
/// down and skipped, against PostHog's flags.
pub fn select(
    registry: &'static Registry,
    posthog: &[FeatureFlag],
    now_ms: i64,
    window_ms: i64,
    cooldown_ms: i64,
) -> Selection {
    let mut out = Selection::default();
    for definition in registry.flags {
        let Some(guardian) = definition.guardian.filter(|g| g.enabled) else {
            continue;
        };
        if definition.archived {
            continue;
        }
        let remote = posthog
            .iter()
            .find(|f| f.key == definition.key && !f.deleted);
        let Some(remote) = remote else {
            out.skipped.push(Skipped {
                flag: definition.key.to_owned(),
                reason: SkipReason::NotInPosthog,
            });
            continue;
        };
        if !remote.active || remote.archived {
            out.skipped.push(Skipped {
                flag: definition.key.to_owned(),
                reason: SkipReason::Inactive,
            });
            continue;
        }
        let updated_ms = remote.updated_at.as_deref().and_then(parse_ms);
        let window_start = now_ms - window_ms;
        let watched = Watched {
            definition,
            guardian,
            id: remote.id,
            updated_ms,
            since_ms: updated_ms.map_or(window_start, |u| u.max(window_start)),
            arms: Arms::of(definition, &remote.filters),
        };
        match updated_ms {
            Some(u) if now_ms - u < cooldown_ms => {
                let left = cooldown_ms - (now_ms - u);
                out.cooling.push((watched, left));
            }
            _ => out.watched.push(watched),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_boolean_split_is_known_only_for_one_unfiltered_condition() {
        let r = |f: Value| boolean_rollout(&f);
        assert_eq!(
            r(json!({"groups": [{"properties": [], "rollout_percentage": 20}]})),
            Some(0.2)
        );
        assert_eq!(r(json!({"groups": [{"properties": []}]})), Some(1.0));
        assert_eq!(
            r(json!({"groups": [{"properties": [{"key": "email"}], "rollout_percentage": 20}]})),
            None
        );
        assert_eq!(r(json!({"groups": [{}, {}]})), None);
        assert_eq!(
            r(json!({"groups": [{"rollout_percentage": 50}], "holdout": {"id": 1}})),
            None
        );
    }
}
