//! Prints the guard simulation table (README, "## Guard"): for 1,000 flags per scenario,
//! checked every 10 minutes for 7 days, the guard's anytime-valid test and the toolkit's
//! fixed-ratio rule on the same traffic: false alarms with no true difference (A/A), and
//! detection of a doubled error rate.
//!
//! `cargo bench -p flags-runtime --bench guard_sim`

use std::time::Instant;

use flags_runtime::jobs::guard::sim::{simulate, standard_scenarios, table};

fn main() {
    let started = Instant::now();
    let results: Vec<_> = standard_scenarios().iter().map(simulate).collect();
    println!("{}", table(&results));
    eprintln!("simulated in {:.1?}", started.elapsed());
}
