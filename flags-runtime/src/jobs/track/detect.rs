//! The rules, applied to what one read of PostHog returned: every finding of the run and the
//! tag changes that record it. Pure: no I/O, so every rule is decided from the list pages alone.

use crate::client::Experiment;
use crate::jobs::inventory::Inventory;
use crate::registry::{FlagDefinition, Lifetime, Registry};

use super::experiments::ended_by_flag;
use super::findings::{Finding, ReleasedBy, Rule};
use super::marks::{Marks, Month, RELEASED_TAG, released_at_tag, stale_notified_tag};
use super::plan::{Change, MarkPlan};
use super::rollout::is_released;
use crate::registry::Date;

/// Lifecycles whose released flags go stale (the others, such as kill switches and plan gates,
/// are meant to stay at 100%).
pub const STALE_LIFECYCLES: [&str; 2] = ["release", "experiment"];

/// Days after release before a flag is stale when its lifecycle has no lifetime in the yaml.
pub const DEFAULT_STALE_DAYS: u32 = 30;

/// The outcome of the rules: what to report and what to record.
#[derive(Debug, Clone, Default)]
pub struct Detection {
    /// Every finding, sorted by owner, rule and key.
    pub findings: Vec<Finding>,
    /// The tag changes that record the notices (write them only after the notices went out).
    pub plan: MarkPlan,
}

/// Days after release before a flag of `lifecycle` is stale; `None` if it never is.
pub fn stale_after(registry: &Registry, lifecycle: Option<&str>) -> Option<u32> {
    let lifecycle = lifecycle?;
    if !STALE_LIFECYCLES.contains(&lifecycle) {
        return None;
    }
    match registry.lifetime_of(lifecycle) {
        Some(Lifetime::Days(d)) => Some(d),
        Some(Lifetime::Never) => None,
        None => Some(DEFAULT_STALE_DAYS),
    }
}

fn finding(def: &FlagDefinition, rule: Rule) -> Finding {
    Finding {
        key: def.key.to_owned(),
        owner: Some(def.owner.to_owned()),
        backup_owner: def.backup_owner.map(str::to_owned),
        lifecycle: def.lifecycle.map(str::to_owned),
        rule,
    }
}

/// Applies the track rules on day `today` to the registry's flags, as `inventory` holds them,
/// and `experiments` (the default list: archived ones hidden).
pub fn detect(
    registry: &Registry,
    inventory: &Inventory,
    experiments: &[Experiment],
    today: Date,
) -> Detection {
    let mut out = Detection::default();
    let ended = ended_by_flag(experiments, today);
    let month = Month::of(today);

    for def in registry.flags.iter().filter(|d| !d.archived) {
        if let Some(expires) = def.expires
            && expires < today
        {
            let days = today.days_after(expires);
            out.findings
                .push(finding(def, Rule::Expired { on: expires, days }));
        }
        let Some(flag) = inventory.get(def.key).filter(|f| !f.archived) else {
            continue;
        };
        let marks = Marks::from_tags(&flag.tags);
        let experiment_end = ended.get(def.key).copied();
        let released_now = is_released(flag.active, &flag.filters) || experiment_end.is_some();

        let released_on = if marks.released {
            match marks.released_at {
                Some(d) => Some(d),
                None => {
                    // Marked by an older tool that kept no date: the clock starts today.
                    out.plan.push(
                        Change::Add,
                        vec![released_at_tag(today)],
                        flag.id,
                        &flag.key,
                    );
                    Some(today)
                }
            }
        } else if released_now {
            let on = experiment_end.unwrap_or(today);
            let by = if experiment_end.is_some() {
                ReleasedBy::Experiment
            } else {
                ReleasedBy::Rollout
            };
            out.findings.push(finding(def, Rule::Released { on, by }));
            out.plan.push(
                Change::Add,
                vec![RELEASED_TAG.to_owned(), released_at_tag(on)],
                flag.id,
                &flag.key,
            );
            Some(on)
        } else {
            None
        };

        // A flag rolled back after its release is not stale while it is rolled back.
        if let (Some(released_on), true) = (released_on, released_now)
            && let Some(lifetime) = stale_after(registry, def.lifecycle)
        {
            let days = today.days_after(released_on);
            if days >= i64::from(lifetime) && marks.stale_notified != Some(month) {
                out.findings.push(finding(
                    def,
                    Rule::Stale {
                        released_on,
                        days,
                        lifetime,
                    },
                ));
                let new_tag = stale_notified_tag(month);
                out.plan
                    .push(Change::Add, vec![new_tag.clone()], flag.id, &flag.key);
                let old: Vec<String> = marks
                    .stale_tags
                    .iter()
                    .filter(|t| **t != new_tag)
                    .cloned()
                    .collect();
                out.plan.push(Change::Remove, old, flag.id, &flag.key);
            }
        }
    }
    out.findings.sort_by_key(Finding::sort_key);
    out
}
