//! The statistics behind a guard decision, with no dependencies: a one-sided mixture sequential
//! probability ratio test (mSPRT) on the difference of two rates, the delta-method variance of a
//! ratio metric, and an anytime-valid sample-ratio-mismatch test.
//!
//! **Why these tests stay valid however often the job runs.** Each statistic below is a
//! likelihood ratio averaged over a prior on the alternative (a *mixture*). Under the null
//! hypothesis such a ratio, recomputed on data that only grows, is a non-negative martingale with
//! mean 1 (a supermartingale for every null value on the good side of the boundary). Ville's
//! inequality then bounds the chance that it *ever* reaches `1/α`, at any of an unlimited number
//! of looks, by `α`. Alarming when the ratio reaches `1/α` is an anytime-valid test.
//!
//! The rate test works on the normal approximation of the estimated difference, with the variance
//! plugged in from the data (the "always valid p-value" of Johari, Koomen, Pekelis and Walsh,
//! 2017, as Optimizely and Eppo use it). The sample-ratio test is exact: a Dirichlet-multinomial
//! Bayes factor against the configured split (Lindon and Malek, 2020).

use std::f64::consts::{LN_2, PI};

/// `ln Φ(x)`, the log of the standard normal distribution function, accurate in the far left tail
/// (where `Φ` itself underflows) to about 1e-7 relative.
pub fn ln_normal_cdf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let z = x.abs() / std::f64::consts::SQRT_2;
    if x < 0.0 {
        // Φ(x) = erfc(|x|/√2) / 2
        ln_erfc(z) - LN_2
    } else {
        // Φ(x) = 1 − erfc(x/√2) / 2
        (-0.5 * ln_erfc(z).exp()).ln_1p()
    }
}

/// `ln erfc(z)` for `z ≥ 0`, from the Chebyshev-fitted form
/// `erfc(z) ≈ t·exp(−z² + P(t))`, `t = 1/(1 + z/2)` (fractional error below 1.2e-7 everywhere),
/// kept in logs so large `z` does not underflow.
fn ln_erfc(z: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.5 * z);
    // Horner form of P(t).
    const P: [f64; 10] = [
        -1.265_512_23,
        1.000_023_68,
        0.374_091_96,
        0.096_784_18,
        -0.186_288_06,
        0.278_868_07,
        -1.135_203_98,
        1.488_515_87,
        -0.822_152_23,
        0.170_872_77,
    ];
    let poly = P.iter().rev().fold(0.0, |acc, c| acc * t + c);
    t.ln() - z * z + poly
}

/// `ln Γ(x)` for `x > 0`: Stirling's series after shifting `x` above 7 with `Γ(x+1) = xΓ(x)`
/// (absolute error below 1e-10).
pub fn ln_gamma(x: f64) -> f64 {
    if x <= 0.0 || x.is_nan() {
        return f64::NAN;
    }
    let mut x = x;
    let mut shift = 0.0;
    while x < 7.0 {
        shift += x.ln();
        x += 1.0;
    }
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    // 1/(12x) − 1/(360x³) + 1/(1260x⁵) − 1/(1680x⁷)
    let series = inv * (1.0 / 12.0 - inv2 * (1.0 / 360.0 - inv2 * (1.0 / 1260.0 - inv2 / 1680.0)));
    (x - 0.5) * x.ln() - x + 0.5 * (2.0 * PI).ln() + series - shift
}

/// The log of the one-sided mixture likelihood ratio for a normal estimate `theta_hat` with
/// variance `v`, testing `θ ≤ 0` against `θ > 0` with a half-normal prior of scale `tau` on `θ`:
///
/// `Λ = 2·√(v/(v+τ²))·exp(θ̂²τ² / (2v(v+τ²)))·Φ(θ̂τ / √(v(v+τ²)))`.
///
/// `Λ` is the average, over the prior, of the likelihood ratio of `θ` against `0`; for every null
/// value `θ ≤ 0` it is a supermartingale, so it exceeds `1/α` at any look with probability at most
/// `α`. Returns `-inf` when there is no information (`v` not positive).
pub fn ln_one_sided_mixture_lr(theta_hat: f64, v: f64, tau: f64) -> f64 {
    let positive = |x: f64| x > 0.0; // false for NaN too
    if !positive(v) || !positive(tau) || !theta_hat.is_finite() {
        return f64::NEG_INFINITY;
    }
    let t2 = tau * tau;
    let s = v + t2;
    LN_2 + 0.5 * (v / s).ln()
        + theta_hat * theta_hat * t2 / (2.0 * v * s)
        + ln_normal_cdf(theta_hat * tau / (v * s).sqrt())
}

/// Per-unit sums of a ratio metric `Σa / Σb` over independent units (users): `a` is what counts
/// (users with an exception, successful events), `b` what it is counted out of (1 per user, the
/// user's events).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RatioSums {
    /// Units (users).
    pub units: f64,
    /// `Σ a_i`.
    pub a: f64,
    /// `Σ b_i`.
    pub b: f64,
    /// `Σ a_i²`.
    pub aa: f64,
    /// `Σ b_i²`.
    pub bb: f64,
    /// `Σ a_i·b_i`.
    pub ab: f64,
}

impl RatioSums {
    /// A proportion: `hits` of `units` units, one trial each.
    pub fn proportion(hits: f64, units: f64) -> Self {
        RatioSums {
            units,
            a: hits,
            b: units,
            aa: hits,
            bb: units,
            ab: hits,
        }
    }

    /// The ratio `Σa/Σb` (`None` without data).
    pub fn ratio(&self) -> Option<f64> {
        (self.b > 0.0).then(|| self.a / self.b)
    }

    /// The variance of the ratio by the delta method, clustered by unit:
    /// `Var(R) ≈ (s²_a − 2R·s_ab + R²·s²_b) / (n·b̄²)`, with population moments. It is floored
    /// by the binomial variance of a smoothed rate `(Σa+½)/(Σb+1)` over `Σb` trials, so an arm
    /// with no events (or only events of one kind) still carries some uncertainty.
    pub fn variance(&self) -> Option<f64> {
        let n = self.units;
        if n < 1.0 || self.b <= 0.0 {
            return None;
        }
        let r = self.a / self.b;
        let (ma, mb) = (self.a / n, self.b / n);
        let var_a = self.aa / n - ma * ma;
        let var_b = self.bb / n - mb * mb;
        let cov = self.ab / n - ma * mb;
        let delta = (var_a - 2.0 * r * cov + r * r * var_b) / (n * mb * mb);
        let smoothed = (self.a + 0.5) / (self.b + 1.0);
        let floor = smoothed * (1.0 - smoothed).max(0.0) / (self.b + 1.0);
        Some(delta.max(floor))
    }
}

/// The evidence that a treatment is worse than its control on one metric.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evidence {
    /// The estimated harm `θ̂` (positive: the treatment is worse by more than the allowed margin).
    pub theta_hat: f64,
    /// Its variance.
    pub variance: f64,
    /// The mixture scale used.
    pub tau: f64,
    /// `ln Λ`.
    pub ln_lr: f64,
}

/// Which direction is harm, and how much of it is tolerated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Harm {
    /// Harm is a higher rate (exceptions): `θ = r_T − r_C`.
    Increase,
    /// Harm is a rate lower than `(1 − max_drop)` times the control's:
    /// `θ = (1 − max_drop)·r_C − r_T`.
    Drop {
        /// The worst acceptable relative drop.
        max_drop: f64,
    },
}

/// Standardised effect size the mixture is centred on: the prior scale `τ` is this many per-unit
/// standard deviations. 0.1 suits a doubling of a 2% error rate (0.14 sd) or a 10% drop of a 90%
/// success rate (0.3 sd); smaller effects are still detected, later.
pub const MIXTURE_EFFECT_SIZE: f64 = 0.1;

/// The one-sided mSPRT for "the treatment is harmful beyond the margin" on one metric. `None`
/// when either arm has no data.
pub fn harm_evidence(control: &RatioSums, treatment: &RatioSums, harm: Harm) -> Option<Evidence> {
    let (rc, rt) = (control.ratio()?, treatment.ratio()?);
    let (vc, vt) = (control.variance()?, treatment.variance()?);
    let (theta_hat, scale) = match harm {
        Harm::Increase => (rt - rc, 1.0),
        Harm::Drop { max_drop } => ((1.0 - max_drop) * rc - rt, 1.0 - max_drop),
    };
    let variance = vt + scale * scale * vc;
    // Per-unit variances, averaged, give the standard deviation τ is measured in.
    let unit_var = 0.5 * (vt * treatment.units + scale * scale * vc * control.units);
    let tau = MIXTURE_EFFECT_SIZE * unit_var.sqrt();
    Some(Evidence {
        theta_hat,
        variance,
        tau,
        ln_lr: ln_one_sided_mixture_lr(theta_hat, variance, tau),
    })
}

/// Concentration of the Dirichlet prior of the sample-ratio test, centred on the configured split.
pub const SRM_PRIOR_CONCENTRATION: f64 = 100.0;

/// `ln` of the Dirichlet-multinomial Bayes factor of observed arm sizes `counts` against the
/// configured split `expected` (shares summing to 1):
/// `ln BF = ln B(α + n) − ln B(α) − Σ nᵢ ln pᵢ`, with `αᵢ = c·pᵢ` and `B` the multivariate Beta
/// function. Under the configured split it is a martingale of mean 1, so alarming at `1/α` is an
/// anytime-valid test. Returns 0 when there is nothing to test.
pub fn ln_srm_bayes_factor(counts: &[u64], expected: &[f64]) -> f64 {
    if counts.len() != expected.len() || counts.len() < 2 {
        return 0.0;
    }
    let positive = |p: f64| p > 0.0; // false for NaN too
    if expected.iter().any(|p| !positive(*p)) {
        // An arm that should get nobody but got someone is a mismatch beyond doubt.
        let impossible = counts
            .iter()
            .zip(expected)
            .any(|(n, p)| *n > 0 && !positive(*p));
        return if impossible { f64::INFINITY } else { 0.0 };
    }
    let c = SRM_PRIOR_CONCENTRATION;
    let ln_beta = |v: &mut dyn Iterator<Item = f64>| {
        let (mut sum, mut acc) = (0.0, 0.0);
        for x in v {
            sum += x;
            acc += ln_gamma(x);
        }
        acc - ln_gamma(sum)
    };
    let posterior = ln_beta(&mut counts.iter().zip(expected).map(|(n, p)| c * p + *n as f64));
    let prior = ln_beta(&mut expected.iter().map(|p| c * p));
    let null: f64 = counts
        .iter()
        .zip(expected)
        .map(|(n, p)| *n as f64 * p.ln())
        .sum();
    posterior - prior - null
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + b.abs())
    }

    #[test]
    fn normal_cdf_matches_known_values_and_the_far_tail() {
        // Φ(0) = 0.5, Φ(1.959964) = 0.975, Φ(−3) = 0.001349898
        assert!(close(ln_normal_cdf(0.0).exp(), 0.5, 1e-7));
        assert!(close(ln_normal_cdf(1.959_964).exp(), 0.975, 1e-7));
        assert!(close(ln_normal_cdf(-3.0).exp(), 0.001_349_898, 1e-6));
        // ln Φ(−40) ≈ −x²/2 − ln(x√(2π)) = −800 − 4.608
        assert!(close(ln_normal_cdf(-40.0), -804.608, 1e-4));
        assert!(ln_normal_cdf(40.0) <= 0.0 && ln_normal_cdf(40.0) > -1e-12);
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        assert!(close(ln_gamma(1.0), 0.0, 1e-10));
        assert!(close(ln_gamma(0.5), PI.sqrt().ln(), 1e-10));
        assert!(close(ln_gamma(11.0), 3_628_800f64.ln(), 1e-10));
        assert!(close(ln_gamma(101.0), 363.739_375_555_563_5, 1e-10));
    }

    #[test]
    fn the_mixture_ratio_agrees_with_numeric_integration() {
        let (theta_hat, v, tau) = (0.013, 0.000_04, 0.01);
        // ∫₀^∞ (2/τ)φ(θ/τ)·exp(θθ̂/v − θ²/(2v)) dθ by the midpoint rule.
        let steps = 200_000;
        let top = 12.0 * tau;
        let h = top / steps as f64;
        let mut sum = 0.0;
        for i in 0..steps {
            let t = (i as f64 + 0.5) * h;
            let prior = 2.0 / (tau * (2.0 * PI).sqrt()) * (-t * t / (2.0 * tau * tau)).exp();
            sum += prior * (t * theta_hat / v - t * t / (2.0 * v)).exp() * h;
        }
        assert!(close(
            ln_one_sided_mixture_lr(theta_hat, v, tau),
            sum.ln(),
            1e-6
        ));
    }

    #[test]
    fn evidence_points_the_right_way() {
        let control = RatioSums::proportion(20.0, 1000.0);
        let worse = RatioSums::proportion(60.0, 1000.0);
        let better = RatioSums::proportion(5.0, 1000.0);
        let e = harm_evidence(&control, &worse, Harm::Increase).expect("data");
        assert!(e.theta_hat > 0.0 && e.ln_lr > (1.0f64 / 0.05).ln(), "{e:?}");
        let e = harm_evidence(&control, &better, Harm::Increase).expect("data");
        assert!(e.ln_lr < 0.0, "{e:?}");
        let e = harm_evidence(&control, &control, Harm::Increase).expect("data");
        assert!(e.ln_lr < 0.0, "equal arms give no evidence: {e:?}");
    }

    #[test]
    fn a_drop_within_the_margin_is_not_harm() {
        // 90% → 85% is a 5.6% relative drop, inside a 10% margin.
        let control = RatioSums::proportion(900.0, 1000.0);
        let treatment = RatioSums::proportion(850.0, 1000.0);
        let e = harm_evidence(&control, &treatment, Harm::Drop { max_drop: 0.1 }).expect("data");
        assert!(e.theta_hat < 0.0 && e.ln_lr < 0.0, "{e:?}");
        // 90% → 60% is far outside it.
        let treatment = RatioSums::proportion(600.0, 1000.0);
        let e = harm_evidence(&control, &treatment, Harm::Drop { max_drop: 0.1 }).expect("data");
        assert!(e.ln_lr > 10.0, "{e:?}");
    }

    #[test]
    fn the_delta_variance_of_a_proportion_is_binomial() {
        let s = RatioSums::proportion(30.0, 100.0);
        assert!(close(s.variance().expect("data"), 0.3 * 0.7 / 100.0, 1e-12));
        // Clustered events: 10 users with 10 events each, all successes for half of them, none
        // for the others, vary far more than 100 independent events would.
        let mut c = RatioSums::default();
        for i in 0..10 {
            let (a, b) = (if i % 2 == 0 { 10.0 } else { 0.0 }, 10.0);
            c.units += 1.0;
            c.a += a;
            c.b += b;
            c.aa += a * a;
            c.bb += b * b;
            c.ab += a * b;
        }
        assert!(c.variance().expect("data") > 5.0 * 0.25 / 100.0);
    }

    #[test]
    fn the_sample_ratio_test_flags_a_skew_and_not_noise() {
        let even = [0.5, 0.5];
        assert!(ln_srm_bayes_factor(&[1_000, 1_010], &even) < 0.0);
        assert!(ln_srm_bayes_factor(&[1_200, 800], &even) > (1000.0f64).ln());
        assert!(ln_srm_bayes_factor(&[250, 250, 500], &[0.25, 0.25, 0.5]) < 0.0);
        assert_eq!(ln_srm_bayes_factor(&[0, 10], &[0.0, 1.0]), 0.0);
        assert_eq!(ln_srm_bayes_factor(&[3, 10], &[0.0, 1.0]), f64::INFINITY);
    }
}
