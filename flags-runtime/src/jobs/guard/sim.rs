//! A seeded simulation of guarded rollouts, to measure false-alarm rates and detection times of
//! the guard's decision ([`super::decide::assess`], unchanged) against the TypeScript
//! toolkit's fixed-ratio rule, on the same simulated traffic.
//!
//! The model, per flag and 10-minute step: persons arrive in each arm as independent Poisson
//! counts (a 50/50 split in expectation, so the arm sizes vary as real ones do); each person
//! hits an exception with the arm's probability (then sends `1 + Geometric(½)` exception
//! events), calls the flag `1 + Poisson(½)` times and sends `Poisson(4)` other events, all in
//! the step they arrive. The guard looks every 10 minutes from the end of its 30-minute cooldown
//! on, on everything since the rollout started. The toolkit's rule looks at the same times on
//! the last 20 minutes only: with at least 100 events and 50 persons per arm, it alarms when
//! the treatment's exception events per event are at least twice the control's (or above 1%
//! when the control has none).
//!
//! No dependency: the generator is SplitMix64, Poisson counts use Knuth's product method below
//! a mean of 10 and Hörmann's transformed rejection (PTRS) above it, exact both ways.

use std::fmt::Write as _;

use crate::client::GuardOutcome;

use super::decide::{
    ArmData, EXCEPTION_EVENT, FlagData, FlagSpec, Metric, MetricKind, OutcomeSums, assess,
};
use super::report::{DecisionKind, Reason};
use super::select::Arms;
use super::stats::{Harm, ln_gamma};

/// SplitMix64: a small, fast, well-mixed 64-bit generator (Steele, Lea and Flood, 2014).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `(0, 1)`: never 0, so its log is finite.
    fn open_uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// A Poisson count of mean `mean`.
    pub fn poisson(&mut self, mean: f64) -> u64 {
        if mean <= 0.0 {
            return 0;
        }
        if mean < 10.0 {
            // Multiply uniforms until the product falls below e^−mean.
            let limit = (-mean).exp();
            let mut k = 0;
            let mut p = self.uniform();
            while p > limit {
                k += 1;
                p *= self.uniform();
            }
            return k;
        }
        // PTRS (Hörmann 1993).
        let slam = mean.sqrt();
        let loglam = mean.ln();
        let b = 0.931 + 2.53 * slam;
        let a = -0.059 + 0.024_83 * b;
        let inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
        let vr = 0.9277 - 3.6224 / (b - 2.0);
        loop {
            let u = self.uniform() - 0.5;
            let v = self.open_uniform();
            let us = 0.5 - u.abs();
            let k = ((2.0 * a / us + b) * u + mean + 0.43).floor();
            if us >= 0.07 && v <= vr {
                return k as u64;
            }
            if k < 0.0 || (us < 0.013 && v > us) {
                continue;
            }
            if v.ln() + inv_alpha.ln() - (a / (us * us) + b).ln()
                <= -mean + k * loglam - ln_gamma(k + 1.0)
            {
                return k as u64;
            }
        }
    }

    /// How many of `n` independent trials with probability `p` (small) succeed, by jumping from
    /// success to success with geometric gaps.
    pub fn binomial_small_p(&mut self, n: u64, p: f64) -> u64 {
        if p <= 0.0 || n == 0 {
            return 0;
        }
        if p >= 1.0 {
            return n;
        }
        let log_q = (1.0 - p).ln();
        let (mut position, mut hits) = (0u64, 0u64);
        loop {
            let gap = (self.open_uniform().ln() / log_q).floor() as u64;
            position = position.saturating_add(gap).saturating_add(1);
            if position > n {
                return hits;
            }
            hits += 1;
        }
    }

    /// `Geometric(½)` on `{0, 1, 2, …}`: how many more fair coins come up heads.
    fn extra(&mut self) -> u64 {
        u64::from(self.next_u64().trailing_ones().min(63))
    }
}

/// One simulated setting.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// A label for the table.
    pub name: String,
    /// Persons exposed per hour, both arms together.
    pub users_per_hour: f64,
    /// Chance a control person hits an exception.
    pub control_rate: f64,
    /// Chance a treatment person does.
    pub treatment_rate: f64,
    /// Flags simulated.
    pub flags: usize,
    /// Days each rollout is watched.
    pub days: u32,
    /// The guard's false-alarm rate per flag.
    pub alpha: f64,
    /// Seed.
    pub seed: u64,
}

impl Scenario {
    /// 1,000 flags over 7 days, checked every 10 minutes, with α = 0.05.
    pub fn new(name: &str, users_per_hour: f64, control_rate: f64, treatment_rate: f64) -> Self {
        Scenario {
            name: name.to_owned(),
            users_per_hour,
            control_rate,
            treatment_rate,
            flags: 1_000,
            days: 7,
            alpha: 0.05,
            seed: 0x5EED_F1A6,
        }
    }
}

/// What one method did over all flags of a scenario.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// Flags simulated.
    pub flags: usize,
    /// Hours from rollout start to the first alarm, one per flag that alarmed.
    pub alarm_hours: Vec<f64>,
    /// Flags blocked at least once by the sample-ratio check (the guard only).
    pub srm_blocked: usize,
}

impl Outcome {
    /// Share of flags with an alarm.
    pub fn alarm_rate(&self) -> f64 {
        self.alarm_hours.len() as f64 / self.flags.max(1) as f64
    }

    /// The `q` quantile (0..1) of the hours to the first alarm.
    pub fn hours_quantile(&self, q: f64) -> Option<f64> {
        let mut h = self.alarm_hours.clone();
        if h.is_empty() {
            return None;
        }
        h.sort_by(f64::total_cmp);
        let i = ((h.len() - 1) as f64 * q).round() as usize;
        h.get(i).copied()
    }
}

/// Both methods on one scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct SimResult {
    /// The scenario.
    pub scenario: Scenario,
    /// The guard's decision.
    pub guard: Outcome,
    /// The toolkit's rule.
    pub toolkit: Outcome,
}

const STEP_MINUTES: u32 = 10;
const COOLDOWN_STEPS: u32 = 3;
const TOOLKIT_WINDOW_STEPS: usize = 2;

/// One arm's counts in one step.
#[derive(Clone, Copy, Debug, Default)]
struct Step {
    users: u64,
    exposures: u64,
    affected: u64,
    exceptions: u64,
    other: u64,
}

impl Step {
    fn draw(rng: &mut Rng, mean_users: f64, rate: f64) -> Step {
        let users = rng.poisson(mean_users);
        let affected = rng.binomial_small_p(users, rate);
        let exceptions = affected + (0..affected).map(|_| rng.extra()).sum::<u64>();
        Step {
            users,
            exposures: users + rng.poisson(0.5 * users as f64),
            affected,
            exceptions,
            other: rng.poisson(4.0 * users as f64),
        }
    }

    fn events(&self) -> u64 {
        self.exposures + self.exceptions + self.other
    }
}

/// The toolkit's guardian rule on one window: `None` below its floors, else whether it alarms.
pub fn toolkit_alarm(control: (u64, u64, u64), treatment: (u64, u64, u64)) -> Option<bool> {
    // (persons, events, exception events)
    let floor = |(users, events, _): (u64, u64, u64)| users >= 50 && events >= 100;
    if !floor(control) || !floor(treatment) {
        return None;
    }
    let rate = |(_, events, errors): (u64, u64, u64)| errors as f64 / events as f64;
    let (c, t) = (rate(control), rate(treatment));
    Some(if c == 0.0 { t > 0.01 } else { t / c >= 2.0 })
}

/// A boolean flag split 50/50 with the `$exception` metric alone: what the simulation judges.
pub(crate) fn spec(alpha: f64) -> FlagSpec {
    FlagSpec {
        arms: Arms {
            control: "false".into(),
            treatments: vec!["true".into()],
            expected: Some(vec![0.5, 0.5]),
        },
        metrics: vec![Metric {
            outcome: GuardOutcome {
                event: EXCEPTION_EVENT.into(),
                success_property: None,
            },
            kind: MetricKind::AffectedUsers,
            harm: Harm::Increase,
        }],
        alpha,
    }
}

fn arm_data(total: &Step) -> ArmData {
    ArmData {
        users: total.users,
        exposure_events: total.exposures,
        metrics: vec![OutcomeSums {
            users_with_events: total.affected,
            events: total.exceptions,
            successes: total.exceptions,
            // Only persons with an exception and the arm size enter this metric.
            ..OutcomeSums::default()
        }],
    }
}

/// Simulates every flag of `scenario` under both methods.
pub fn simulate(scenario: &Scenario) -> SimResult {
    let steps = scenario.days * 24 * 60 / STEP_MINUTES;
    let mean_per_arm = scenario.users_per_hour * f64::from(STEP_MINUTES) / 60.0 / 2.0;
    let spec = spec(scenario.alpha);
    let mut guard = Outcome {
        flags: scenario.flags,
        ..Outcome::default()
    };
    let mut toolkit = guard.clone();
    let mut data = FlagData::new();
    for flag in 0..scenario.flags {
        let mut rng = Rng::new(scenario.seed ^ (flag as u64).wrapping_mul(0xA24B_AED4_963E_E407));
        let (mut total_c, mut total_t) = (Step::default(), Step::default());
        let mut recent: Vec<(Step, Step)> = Vec::with_capacity(steps as usize);
        let (mut guard_done, mut toolkit_done, mut blocked) = (false, false, false);
        for step in 1..=steps {
            let c = Step::draw(&mut rng, mean_per_arm, scenario.control_rate);
            let t = Step::draw(&mut rng, mean_per_arm, scenario.treatment_rate);
            for (total, s) in [(&mut total_c, c), (&mut total_t, t)] {
                total.users += s.users;
                total.exposures += s.exposures;
                total.affected += s.affected;
                total.exceptions += s.exceptions;
                total.other += s.other;
            }
            recent.push((c, t));
            if step < COOLDOWN_STEPS {
                continue;
            }
            let hours = f64::from(step * STEP_MINUTES) / 60.0;
            if !guard_done {
                data.insert("false".into(), arm_data(&total_c));
                data.insert("true".into(), arm_data(&total_t));
                let a = assess(&spec, &data);
                match (a.decision, a.reason) {
                    (DecisionKind::Regression, _) => {
                        guard.alarm_hours.push(hours);
                        guard_done = true;
                    }
                    (DecisionKind::Blocked, Some(Reason::SampleRatioMismatch)) => blocked = true,
                    _ => {}
                }
            }
            if !toolkit_done {
                let window = &recent[recent.len().saturating_sub(TOOLKIT_WINDOW_STEPS)..];
                let sum = |pick: fn(&(Step, Step)) -> Step| {
                    window.iter().map(pick).fold((0, 0, 0), |(u, e, x), s| {
                        (u + s.users, e + s.events(), x + s.exceptions)
                    })
                };
                if toolkit_alarm(sum(|p| p.0), sum(|p| p.1)) == Some(true) {
                    toolkit.alarm_hours.push(hours);
                    toolkit_done = true;
                }
            }
            if guard_done && toolkit_done {
                break;
            }
        }
        guard.srm_blocked += usize::from(blocked);
    }
    SimResult {
        scenario: scenario.clone(),
        guard,
        toolkit,
    }
}

/// The scenarios the bench prints: A/A (no difference) and a doubled error rate, at three
/// traffic levels, each with 1,000 flags over 7 days.
pub fn standard_scenarios() -> Vec<Scenario> {
    let mut out = Vec::new();
    for users in [120.0, 600.0, 6_000.0] {
        out.push(Scenario::new(
            &format!("A/A, {users} persons/h"),
            users,
            0.02,
            0.02,
        ));
        out.push(Scenario::new(
            &format!("2× errors, {users} persons/h"),
            users,
            0.02,
            0.04,
        ));
    }
    out
}

/// The results as a Markdown table.
pub fn table(results: &[SimResult]) -> String {
    let mut out = String::new();
    out.push_str("| scenario | method | flags | flags alarmed | alarm rate | median h to alarm | p90 h to alarm | SRM-blocked flags |\n");
    out.push_str("|---|---|---:|---:|---:|---:|---:|---:|\n");
    let hours = |h: Option<f64>| h.map_or_else(|| "–".to_owned(), |h| format!("{h:.1}"));
    for r in results {
        for (method, o) in [
            ("guard (mSPRT, α = 0.05)", &r.guard),
            ("toolkit (2× ratio, 20 min)", &r.toolkit),
        ] {
            let _ = writeln!(
                out,
                "| {} | {method} | {} | {} | {:.1}% | {} | {} | {} |",
                r.scenario.name,
                o.flags,
                o.alarm_hours.len(),
                o.alarm_rate() * 100.0,
                hours(o.hours_quantile(0.5)),
                hours(o.hours_quantile(0.9)),
                if std::ptr::eq(o, &r.guard) {
                    o.srm_blocked.to_string()
                } else {
                    "–".to_owned()
                },
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(draws: impl Iterator<Item = u64>) -> (f64, f64) {
        let v: Vec<f64> = draws.map(|x| x as f64).collect();
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (mean, var)
    }

    #[test]
    fn poisson_draws_have_the_right_mean_and_variance() {
        let mut rng = Rng::new(1);
        for mean in [0.5, 4.0, 12.0, 50.0, 400.0] {
            let (m, v) = moments((0..40_000).map(|_| rng.poisson(mean)));
            assert!((m - mean).abs() < 0.05 * mean.max(1.0), "mean {mean}: {m}");
            assert!(
                (v - mean).abs() < 0.1 * mean.max(1.0),
                "variance {mean}: {v}"
            );
        }
    }

    #[test]
    fn small_p_binomial_draws_have_the_right_mean() {
        let mut rng = Rng::new(2);
        let (m, v) = moments((0..40_000).map(|_| rng.binomial_small_p(200, 0.03)));
        assert!((m - 6.0).abs() < 0.1, "{m}");
        assert!((v - 200.0 * 0.03 * 0.97).abs() < 0.3, "{v}");
    }

    #[test]
    fn the_toolkit_rule_is_a_ratio_above_its_floors() {
        assert_eq!(toolkit_alarm((40, 500, 5), (60, 500, 50)), None);
        assert_eq!(toolkit_alarm((60, 500, 5), (60, 500, 10)), Some(true));
        assert_eq!(toolkit_alarm((60, 500, 5), (60, 500, 9)), Some(false));
        assert_eq!(toolkit_alarm((60, 500, 0), (60, 500, 6)), Some(true));
    }
}
