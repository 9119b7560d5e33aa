//! `flagsync guard`: watch the registry's guarded rollouts and stop the bad ones, with a
//! false-alarm rate that holds however often the job runs.
//!
//! A run:
//! 1. lists PostHog's flags once (every page) and keeps the registry's guarded flags that are
//!    active there ([`select`]); a flag edited within the cooldown waits;
//! 2. sends **one** HogQL query for all of them ([`crate::client::GUARD_QUERY`], built by
//!    [`data`]): arms by exposure, outcomes per exposed person;
//! 3. judges each flag ([`decide`]): exposures, sample floors and the sample ratio as gates, then
//!    an anytime-valid sequential test per metric and arm ([`stats`]);
//! 4. disables enforced regressions, at most `max_disables` ([`act`]);
//! 5. reports ([`report`]); the caller appends the audit record ([`audit`]) and posts the Slack
//!    alert ([`alert`]).

pub mod act;
pub mod alert;
pub mod audit;
pub mod data;
pub mod decide;
pub mod report;
pub mod select;
pub mod sim;
pub mod stats;
pub mod time;

use std::collections::HashMap;
use std::time::Duration;

use futures_util::TryStreamExt;

use crate::client::{Client, Error, FeatureFlag, ListFlags};
use crate::registry::Registry;

use decide::{FlagSpec, Metric};
use report::{Action, Decision, DecisionKind, GuardReport, Reason, RunInfo, WindowReport};

/// How a run behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuardOptions {
    /// How far back a window may reach (a flag's window starts at its last edit, or this long
    /// ago if the edit is older). Default 7 days.
    pub window: Duration,
    /// How long after an edit a flag waits before it is judged. Default 30 minutes.
    pub cooldown: Duration,
    /// At most this many disables per run. Default 3.
    pub max_disables: usize,
    /// Judge, but write nothing to PostHog.
    pub dry_run: bool,
}

impl Default for GuardOptions {
    fn default() -> Self {
        GuardOptions {
            window: Duration::from_secs(7 * 86_400),
            cooldown: Duration::from_secs(30 * 60),
            max_disables: 3,
            dry_run: false,
        }
    }
}

/// A run's identity: an id and the instant it judges at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunClock {
    /// Unique run id.
    pub run_id: String,
    /// The run's instant (ms since the epoch): every window ends here.
    pub now_ms: i64,
}

impl RunClock {
    /// A run at the current time, with an id made of the time and the process id.
    pub fn now() -> Self {
        let now_ms = time::now_ms();
        RunClock {
            run_id: format!("guard-{now_ms:x}-{:x}", std::process::id()),
            now_ms,
        }
    }
}

/// The run's description before anything happened (for a failure record).
pub fn run_info(options: &GuardOptions, clock: &RunClock, queries: usize) -> RunInfo {
    RunInfo {
        run_id: clock.run_id.clone(),
        at: time::format_ms(clock.now_ms),
        window: time::describe(options.window.as_millis() as i64),
        cooldown: time::describe(options.cooldown.as_millis() as i64),
        max_disables: options.max_disables,
        dry_run: options.dry_run,
        queries,
    }
}

fn base_decision(w: &select::Watched, until_ms: i64) -> Decision {
    Decision {
        flag: w.definition.key.to_owned(),
        flag_id: w.id,
        decision: DecisionKind::InsufficientData,
        reason: None,
        enforce: w.guardian.enforce,
        action: Action::None,
        summary: String::new(),
        alpha: w.guardian.alpha,
        window: WindowReport {
            since: time::format_ms(w.since_ms),
            until: time::format_ms(until_ms),
        },
        arms: Vec::new(),
        multiple_exposures: 0,
        srm: None,
        tests: Vec::new(),
        posthog: None,
    }
}

/// Runs the guard once: one flag list, at most one query, the decisions, and the disables.
/// Errors of the list or the query end the run (nothing is judged on missing data).
pub async fn run(
    client: &Client,
    registry: &'static Registry,
    options: &GuardOptions,
    clock: &RunClock,
) -> Result<GuardReport, Error> {
    let now = clock.now_ms;
    let flags: Vec<FeatureFlag> = client
        .list_flags(&ListFlags::default())
        .try_collect()
        .await?;
    let selection = select::select(
        registry,
        &flags,
        now,
        options.window.as_millis() as i64,
        options.cooldown.as_millis() as i64,
    );
    let metrics: Vec<Vec<Metric>> = selection
        .watched
        .iter()
        .map(|w| Metric::of(&w.guardian))
        .collect();
    let mut decisions: Vec<Decision> = Vec::new();
    let mut queries = 0;
    if !selection.watched.is_empty() {
        let plan = data::plan(&selection.watched, &metrics, now);
        queries += 1;
        let rows = client.guard_query(&plan.query).await?;
        for ((w, m), outcomes) in selection.watched.iter().zip(metrics).zip(&plan.outcome_of) {
            let spec = FlagSpec {
                arms: w.arms.clone(),
                metrics: m,
                alpha: w.guardian.alpha,
            };
            let a = decide::assess(&spec, &data::flag_data(&rows, w.definition.key, outcomes));
            let mut d = base_decision(w, now);
            d.decision = a.decision;
            d.reason = a.reason;
            d.summary = a.summary;
            d.arms = a.arms;
            d.multiple_exposures = a.multiple_exposures;
            d.srm = a.srm;
            d.tests = a.tests;
            decisions.push(d);
        }
    }
    for (w, left_ms) in &selection.cooling {
        let mut d = base_decision(w, now);
        d.reason = Some(Reason::Cooldown);
        d.summary = format!(
            "edited {} ago; judged once the {} cooldown is over ({} left)",
            time::describe(w.updated_ms.map_or(0, |u| now - u)),
            time::describe(options.cooldown.as_millis() as i64),
            time::describe(*left_ms)
        );
        decisions.push(d);
    }
    act::enforce(
        client,
        &mut decisions,
        options.max_disables,
        options.dry_run,
    )
    .await;
    let position: HashMap<&str, usize> = registry
        .flags
        .iter()
        .enumerate()
        .map(|(i, f)| (f.key, i))
        .collect();
    decisions.sort_by_key(|d| position.get(d.flag.as_str()).copied().unwrap_or(usize::MAX));
    Ok(GuardReport::new(
        run_info(options, clock, queries),
        decisions,
        selection.skipped,
    ))
}
