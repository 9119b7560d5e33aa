//! The guard's decision under simulation (fixed seed): its false-alarm rate over a week of
//! checks every 10 minutes stays within α, where the toolkit's fixed-ratio rule alarms on most
//! flags; and it detects a doubled error rate. `cargo bench -p flags-runtime --bench guard_sim`
//! prints the full table
//! (three traffic levels).

use flags_runtime::jobs::guard::sim::{Scenario, simulate};

#[test]
fn a_a_flags_checked_every_ten_minutes_for_a_week_stay_within_alpha() {
    // 1,000 flags × 1,006 looks each, no true difference.
    let scenario = Scenario::new("A/A", 600.0, 0.02, 0.02);
    let r = simulate(&scenario);
    eprintln!(
        "{}",
        flags_runtime::jobs::guard::sim::table(std::slice::from_ref(&r))
    );
    assert!(
        r.guard.alarm_rate() <= scenario.alpha,
        "guard false-alarm rate {:.3} > α",
        r.guard.alarm_rate()
    );
    assert!(
        r.toolkit.alarm_rate() > 0.5,
        "the toolkit's rule re-decided 1,006 times should cry wolf on most flags: {:.3}",
        r.toolkit.alarm_rate()
    );
}

#[test]
fn a_doubled_error_rate_is_detected_within_the_week() {
    let scenario = Scenario {
        flags: 100,
        ..Scenario::new("2×", 600.0, 0.02, 0.04)
    };
    let r = simulate(&scenario);
    eprintln!(
        "{}",
        flags_runtime::jobs::guard::sim::table(std::slice::from_ref(&r))
    );
    assert!(
        r.guard.alarm_rate() >= 0.95,
        "power {:.3}",
        r.guard.alarm_rate()
    );
}
