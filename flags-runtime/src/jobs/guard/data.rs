//! From the watched flags to the one query's values, and from its rows back to each flag's
//! numbers.

use std::collections::BTreeMap;

use crate::client::{GuardOutcome, GuardQuery, GuardRow};

use super::decide::{ArmData, FlagData, Metric, OutcomeSums};
use super::select::Watched;
use super::time::format_ms;

/// The query for a run, and where each flag's metrics are among its outcomes.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The values of the one query.
    pub query: GuardQuery,
    /// Per watched flag (same order), per metric: the 1-based outcome index in the rows.
    pub outcome_of: Vec<Vec<u64>>,
}

/// One query for all `watched` flags up to `until_ms`: each flag with its own window start, and
/// every distinct outcome (event and success property) any of them needs, `$exception` first.
pub fn plan(watched: &[Watched], metrics: &[Vec<Metric>], until_ms: i64) -> Plan {
    let mut outcomes: Vec<GuardOutcome> = Vec::new();
    let mut outcome_of = Vec::with_capacity(watched.len());
    for flag_metrics in metrics {
        let mut indexes = Vec::with_capacity(flag_metrics.len());
        for m in flag_metrics {
            let i = match outcomes.iter().position(|o| *o == m.outcome) {
                Some(i) => i,
                None => {
                    outcomes.push(m.outcome.clone());
                    outcomes.len() - 1
                }
            };
            indexes.push(i as u64 + 1);
        }
        outcome_of.push(indexes);
    }
    Plan {
        query: GuardQuery {
            flags: watched
                .iter()
                .map(|w| (w.definition.key.to_owned(), format_ms(w.since_ms)))
                .collect(),
            outcomes,
            until: format_ms(until_ms),
        },
        outcome_of,
    }
}

/// The rows of one flag as its [`FlagData`], metrics in the order of `outcomes` (1-based
/// indexes into the query's outcomes). Outcomes missing from the rows count as zero.
pub fn flag_data(rows: &[GuardRow], flag: &str, outcomes: &[u64]) -> FlagData {
    let mut by_arm: BTreeMap<&str, BTreeMap<u64, &GuardRow>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.flag == flag) {
        by_arm
            .entry(r.variant.as_str())
            .or_default()
            .insert(r.outcome, r);
    }
    by_arm
        .into_iter()
        .map(|(arm, rows)| {
            // Every row of an arm carries the same exposure numbers.
            let first = rows.values().next();
            let data = ArmData {
                users: first.map_or(0, |r| r.users),
                exposure_events: first.map_or(0, |r| r.exposure_events),
                metrics: outcomes
                    .iter()
                    .map(|i| rows.get(i).map_or_else(OutcomeSums::default, |r| r.sums))
                    .collect(),
            };
            (arm.to_owned(), data)
        })
        .collect()
}
