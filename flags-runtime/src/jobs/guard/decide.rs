//! One flag's verdict from its numbers: the sanity gates (exposures, sample floors, the sample
//! ratio) and then the sequential test of every guardrail metric in every treatment arm.
//!
//! The verdict is a pure function of the cumulative counts since the flag's window opened, so
//! the job keeps no state between runs: what makes the repeated looks safe is the test itself
//! (see [`super::stats`]).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::client::GuardOutcome;
use crate::registry::GuardianDefinition;

use super::report::{DecisionKind, Reason};
use super::select::Arms;
use super::stats::{Harm, RatioSums, harm_evidence, ln_srm_bayes_factor};

/// Persons an arm needs before it is judged (the toolkit's floor, kept as a sanity gate).
pub const MIN_USERS_PER_ARM: u64 = 50;
/// Events (exposures plus outcome events) an arm needs before it is judged.
pub const MIN_EVENTS_PER_ARM: u64 = 100;
/// False-alarm rate of the sample-ratio check, over all looks (it blocks, so it is strict).
pub const SRM_ALPHA: f64 = 0.001;
/// The event PostHog's SDKs capture for errors.
pub const EXCEPTION_EVENT: &str = "$exception";

/// How a metric is measured, per person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// Share of exposed persons with at least one such event (`$exception`): harm is a rise.
    AffectedUsers,
    /// Successful events out of all such events, of persons who sent one: harm is a drop.
    SuccessRate,
    /// Share of exposed persons who sent the event at least once: harm is a drop.
    Conversion,
}

/// One guardrail metric of a flag.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// The outcome the query counts for it.
    pub outcome: GuardOutcome,
    /// How it is measured.
    pub kind: MetricKind,
    /// What counts as harm.
    pub harm: Harm,
}

impl Metric {
    /// `$exception` plus the metrics the yaml declares.
    pub fn of(guardian: &GuardianDefinition) -> Vec<Metric> {
        let mut metrics = vec![Metric {
            outcome: GuardOutcome {
                event: EXCEPTION_EVENT.into(),
                success_property: None,
            },
            kind: MetricKind::AffectedUsers,
            harm: Harm::Increase,
        }];
        for m in guardian.metrics {
            let kind = if m.success_property.is_some() {
                MetricKind::SuccessRate
            } else {
                MetricKind::Conversion
            };
            metrics.push(Metric {
                outcome: GuardOutcome {
                    event: m.event.to_owned(),
                    success_property: m.success_property.map(str::to_owned),
                },
                kind,
                harm: Harm::Drop {
                    max_drop: m.max_drop,
                },
            });
        }
        metrics
    }

    /// `$exception`, or `event (success_property)`.
    pub fn name(&self) -> String {
        match &self.outcome.success_property {
            Some(p) => format!("{} ({p})", self.outcome.event),
            None => self.outcome.event.clone(),
        }
    }
}

/// What a flag is judged on.
#[derive(Clone, Debug)]
pub struct FlagSpec {
    /// Its arms and configured split.
    pub arms: Arms,
    /// Its metrics.
    pub metrics: Vec<Metric>,
    /// The false-alarm rate allowed over the rollout, shared by its metrics and arms.
    pub alpha: f64,
}

pub use crate::client::OutcomeSums;

/// One arm's numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArmData {
    /// Exposed persons.
    pub users: u64,
    /// Their exposure events.
    pub exposure_events: u64,
    /// Per metric, in [`FlagSpec::metrics`] order.
    pub metrics: Vec<OutcomeSums>,
}

/// A flag's numbers: arm → data (arms nobody was exposed to are absent).
pub type FlagData = BTreeMap<String, ArmData>;

/// An arm, as reported.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ArmReport {
    /// The arm.
    pub arm: String,
    /// Exposed persons.
    pub users: u64,
    /// Exposure and outcome events.
    pub events: u64,
    /// Its configured share, if known.
    pub expected_share: Option<f64>,
}

/// The sample-ratio check, as reported.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SrmReport {
    /// `ln` of the Bayes factor against the configured split.
    pub ln_bayes_factor: f64,
    /// The alarm level, `ln(1/SRM_ALPHA)`.
    pub threshold: f64,
    /// Whether the observed split contradicts the configured one.
    pub mismatch: bool,
}

/// One metric in one treatment arm, as reported.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TestReport {
    /// The metric (`$exception`, or `event (success_property)`).
    pub metric: String,
    /// How it is measured.
    pub kind: MetricKind,
    /// The treatment arm.
    pub treatment: String,
    /// The control arm.
    pub control: String,
    /// The control's rate.
    pub control_rate: f64,
    /// The treatment's rate.
    pub treatment_rate: f64,
    /// Persons (or, for a success rate, persons with events) behind each rate.
    pub control_units: u64,
    /// As `control_units`, for the treatment.
    pub treatment_units: u64,
    /// The worst acceptable relative drop (`None` for `$exception`: any rise is harm).
    pub max_drop: Option<f64>,
    /// Estimated harm beyond the margin (positive: worse).
    pub harm: f64,
    /// Its standard error.
    pub standard_error: f64,
    /// `ln Λ`, the evidence of harm.
    pub ln_evidence: f64,
    /// The alarm level, `ln(m/α)` for `m` tests of the flag.
    pub threshold: f64,
    /// Whether this test found a regression.
    pub regression: bool,
}

/// A flag's verdict and the numbers behind it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Assessment {
    /// `healthy`, `regression`, `insufficient_data` or `blocked`.
    pub decision: DecisionKind,
    /// Why, for `insufficient_data` and `blocked`.
    pub reason: Option<Reason>,
    /// One line a person can read.
    pub summary: String,
    /// The arms compared (control first).
    pub arms: Vec<ArmReport>,
    /// Persons exposed to more than one arm (left out of every comparison).
    pub multiple_exposures: u64,
    /// The sample-ratio check (`None` when the split is unknown or data was too thin).
    pub srm: Option<SrmReport>,
    /// Every test run.
    pub tests: Vec<TestReport>,
}

impl Assessment {
    /// How far the strongest test is past its alarm level (`ln Λ − threshold`).
    pub fn strength(&self) -> f64 {
        self.tests
            .iter()
            .map(|t| t.ln_evidence - t.threshold)
            .fold(f64::NEG_INFINITY, f64::max)
    }
}

fn arm_events(spec: &FlagSpec, data: &ArmData) -> u64 {
    // Each distinct event once, even if two metrics read it.
    let mut seen = BTreeSet::new();
    let outcome_events: u64 = spec
        .metrics
        .iter()
        .zip(&data.metrics)
        .filter(|(m, _)| seen.insert(m.outcome.event.as_str()))
        .map(|(_, s)| s.events)
        .sum();
    data.exposure_events + outcome_events
}

fn sums(kind: MetricKind, arm: &ArmData, s: &OutcomeSums) -> RatioSums {
    match kind {
        MetricKind::AffectedUsers | MetricKind::Conversion => {
            RatioSums::proportion(s.users_with_events as f64, arm.users as f64)
        }
        MetricKind::SuccessRate => RatioSums {
            units: s.users_with_events as f64,
            a: s.successes as f64,
            b: s.events as f64,
            aa: s.successes_squared as f64,
            bb: s.events_squared as f64,
            ab: s.events_by_successes as f64,
        },
    }
}

/// Judges one flag. `data` holds every arm seen (the `$multiple` arm included).
pub fn assess(spec: &FlagSpec, data: &FlagData) -> Assessment {
    let empty = ArmData::default();
    let arm = |name: &str| data.get(name).unwrap_or(&empty);
    let expected = spec.arms.expected.as_deref();
    let arms: Vec<ArmReport> = spec
        .arms
        .all()
        .enumerate()
        .map(|(i, name)| ArmReport {
            arm: name.to_owned(),
            users: arm(name).users,
            events: arm_events(spec, arm(name)),
            expected_share: expected.and_then(|e| e.get(i).copied()),
        })
        .collect();
    let multiple_exposures = data
        .get(crate::client::MULTIPLE_VARIANTS)
        .map_or(0, |a| a.users);
    let mut out = Assessment {
        decision: DecisionKind::InsufficientData,
        reason: None,
        summary: String::new(),
        arms,
        multiple_exposures,
        srm: None,
        tests: Vec::new(),
    };
    if spec.arms.treatments.is_empty() || out.arms.iter().all(|a| a.users == 0) {
        out.reason = Some(Reason::NoExposures);
        out.summary = "no exposures in the window".into();
        return out;
    }
    if let Some(expected) = expected {
        let observed: Vec<u64> = out.arms.iter().map(|a| a.users).collect();
        let ln_bf = ln_srm_bayes_factor(&observed, expected);
        let threshold = (1.0 / SRM_ALPHA).ln();
        let mismatch = ln_bf >= threshold;
        out.srm = Some(SrmReport {
            ln_bayes_factor: ln_bf,
            threshold,
            mismatch,
        });
        if mismatch {
            out.decision = DecisionKind::Blocked;
            out.reason = Some(Reason::SampleRatioMismatch);
            out.summary = format!(
                "sample ratio mismatch: {} against a configured {}",
                out.arms
                    .iter()
                    .map(|a| format!("{} {}", a.arm, a.users))
                    .collect::<Vec<_>>()
                    .join(" / "),
                expected
                    .iter()
                    .map(|p| format!("{:.0}%", p * 100.0))
                    .collect::<Vec<_>>()
                    .join(" / ")
            );
            return out;
        }
    }
    let thin: Vec<&ArmReport> = out
        .arms
        .iter()
        .filter(|a| a.users < MIN_USERS_PER_ARM || a.events < MIN_EVENTS_PER_ARM)
        .collect();
    if !thin.is_empty() {
        out.reason = Some(Reason::SampleFloor);
        out.summary = format!(
            "below the floor of {MIN_USERS_PER_ARM} persons and {MIN_EVENTS_PER_ARM} events per arm: {}",
            thin.iter()
                .map(|a| format!("{} has {} persons, {} events", a.arm, a.users, a.events))
                .collect::<Vec<_>>()
                .join("; ")
        );
        return out;
    }
    let tests_count = (spec.metrics.len() * spec.arms.treatments.len()).max(1);
    let threshold = (tests_count as f64 / spec.alpha).ln();
    let control = arm(&spec.arms.control);
    for treatment_name in &spec.arms.treatments {
        let treatment = arm(treatment_name);
        for (i, metric) in spec.metrics.iter().enumerate() {
            let (Some(c), Some(t)) = (control.metrics.get(i), treatment.metrics.get(i)) else {
                continue;
            };
            let (cs, ts) = (
                sums(metric.kind, control, c),
                sums(metric.kind, treatment, t),
            );
            let Some(e) = harm_evidence(&cs, &ts, metric.harm) else {
                continue;
            };
            out.tests.push(TestReport {
                metric: metric.name(),
                kind: metric.kind,
                treatment: treatment_name.clone(),
                control: spec.arms.control.clone(),
                control_rate: cs.ratio().unwrap_or(0.0),
                treatment_rate: ts.ratio().unwrap_or(0.0),
                control_units: cs.units as u64,
                treatment_units: ts.units as u64,
                max_drop: match metric.harm {
                    Harm::Drop { max_drop } => Some(max_drop),
                    Harm::Increase => None,
                },
                harm: e.theta_hat,
                standard_error: e.variance.sqrt(),
                ln_evidence: e.ln_lr,
                threshold,
                regression: e.ln_lr >= threshold,
            });
        }
    }
    let worst = out
        .tests
        .iter()
        .filter(|t| t.regression)
        .max_by(|a, b| (a.ln_evidence - a.threshold).total_cmp(&(b.ln_evidence - b.threshold)));
    match worst {
        Some(t) => {
            out.decision = DecisionKind::Regression;
            out.summary = format!(
                "{} regressed in {}: {:.2}% against {:.2}% in {} (evidence {:.1} ≥ {:.1})",
                t.metric,
                t.treatment,
                t.treatment_rate * 100.0,
                t.control_rate * 100.0,
                t.control,
                t.ln_evidence,
                t.threshold
            );
        }
        None => {
            out.decision = DecisionKind::Healthy;
            out.summary = format!(
                "no evidence of harm in {} test(s) (strongest evidence {:.1}, alarm at {:.1})",
                out.tests.len(),
                out.strength() + threshold,
                threshold
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> FlagSpec {
        super::super::sim::spec(0.05)
    }

    fn arm(users: u64, affected: u64) -> ArmData {
        ArmData {
            users,
            exposure_events: users * 2,
            metrics: vec![OutcomeSums {
                users_with_events: affected,
                events: affected,
                successes: affected,
                events_squared: affected,
                successes_squared: affected,
                events_by_successes: affected,
            }],
        }
    }

    fn data(c: ArmData, t: ArmData) -> FlagData {
        [("false".to_owned(), c), ("true".to_owned(), t)].into()
    }

    #[test]
    fn the_gates_come_before_the_test() {
        let a = assess(&spec(), &FlagData::new());
        assert_eq!(
            (a.decision, a.reason),
            (DecisionKind::InsufficientData, Some(Reason::NoExposures))
        );
        let a = assess(&spec(), &data(arm(40, 0), arm(40, 30)));
        assert_eq!(
            (a.decision, a.reason),
            (DecisionKind::InsufficientData, Some(Reason::SampleFloor))
        );
        let a = assess(&spec(), &data(arm(1_000, 10), arm(1_500, 15)));
        assert_eq!(
            (a.decision, a.reason),
            (DecisionKind::Blocked, Some(Reason::SampleRatioMismatch))
        );
    }

    #[test]
    fn a_clear_rise_in_exceptions_is_a_regression_and_equal_arms_are_healthy() {
        let a = assess(&spec(), &data(arm(500, 10), arm(500, 60)));
        assert_eq!(a.decision, DecisionKind::Regression, "{}", a.summary);
        assert!(a.tests[0].regression && a.strength() > 0.0);
        let a = assess(&spec(), &data(arm(500, 10), arm(500, 10)));
        assert_eq!(a.decision, DecisionKind::Healthy, "{}", a.summary);
    }
}
