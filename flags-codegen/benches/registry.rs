//! Load + validate + expand of generated registries with 1,000 and 10,000 flags.
//!
//! `cargo bench -p flags-codegen --bench registry` prints the median of several runs per
//! stage. "expand" builds the expansion's source text; inside the compiler, rustc's own lexer
//! turns it into tokens (`str::parse` of `proc_macro::TokenStream`), which this bench cannot
//! time, so the line also shows proc-macro2's fallback lexer on the same text as an upper bound.
//! `… -- --emit N` prints a realistic N-flag flags.yaml instead (used by
//! `scripts/bench-incremental-build.sh`). Goal: at most 10 ms per 1,000 flags end to end.

use std::time::{Duration, Instant};

use flags_codegen::expand::{ExpandOptions, expand_source};
use proc_macro2::TokenStream;

/// A realistic registry: 3 in 4 flags boolean, 1 in 4 multivariate with payloads; owners,
/// dates, tags, a guardian on every 10th.
fn registry(n: usize) -> String {
    let areas = ["studio", "ai", "billing", "auth"];
    let mut out = String::from(
        "version: 1\nnaming:\n  lifecycles: [release, experiment, ops, tier]\n  areas: [studio, ai, billing, auth]\nlifetimes: { release: 40, experiment: 40, ops: never, tier: never }\nflags:\n",
    );
    for i in 0..n {
        let area = areas[i % areas.len()];
        if i % 4 == 3 {
            out.push_str(&format!(
                "  experiment_{area}_variant_test_{i:05}:\n    description: Experiment number {i} on the {area} area.\n    owner: \"@team-{area}\"\n    backup_owner: oncall-{area}@example.com\n    tags: [{area}, experiment]\n    variants: {{ control: 50, treatment_a: 25, treatment_b: 25 }}\n    default: control\n    payloads:\n      treatment_a: {{ limit: {i}, label: \"A\" }}\n    created: 2026-10-01\n    expires: 2027-03-01\n    ticket: LIN-{i}\n"
            ));
        } else {
            out.push_str(&format!(
                "  release_{area}_feature_{i:05}:\n    description: Gates feature number {i} in {area}.\n    owner: \"@dev{i}\"\n    backup_owner: \"@lead-{area}\"\n    tags: [{area}]\n    default: false\n    created: 2026-10-01\n    expires: 2027-01-31\n    rollback: Turn it off.\n"
            ));
            if i % 10 == 0 {
                out.push_str("    guardian:\n      enforce: true\n      metrics: [{ event: page.loaded, success_property: ok, max_drop: 0.1 }]\n");
            }
        }
    }
    out
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn measure(n: usize, rounds: usize) {
    let text = registry(n);
    let mut load = Vec::new();
    let mut parse = Vec::new();
    let mut gen_ = Vec::new();
    let mut lex = Vec::new();
    let mut total = Vec::new();
    for _ in 0..rounds {
        let t0 = Instant::now();
        let root = flags_codegen::load::load(&text).expect("generated yaml parses");
        let t1 = Instant::now();
        drop(root);
        let t2 = Instant::now();
        let parsed = flags_codegen::parse(&text);
        let t3 = Instant::now();
        assert!(parsed.is_ok(), "{:?}", parsed.diagnostics.first());
        let source = expand_source(parsed.registry.as_ref(), &ExpandOptions::default());
        let t4 = Instant::now();
        let tokens: TokenStream = source.parse().expect("the expansion lexes");
        let t5 = Instant::now();
        std::hint::black_box(tokens.is_empty());
        load.push(t1 - t0);
        parse.push(t3 - t2);
        gen_.push(t4 - t3);
        lex.push(t5 - t4);
        total.push((t3 - t2) + (t4 - t3));
    }
    let per_k = |d: Duration| d.as_secs_f64() * 1000.0 / (n as f64 / 1000.0);
    let (load, parse, gen_, lex, total) = (
        median(load),
        median(parse),
        median(gen_),
        median(lex),
        median(total),
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{n:>6} flags ({:>5} KiB yaml): yaml load {:>6.2} ms | load+read+validate {:>6.2} ms | expand {:>6.2} ms | total {:>6.2} ms = {:.2} ms per 1,000 flags | (lexing the expansion with proc-macro2's fallback lexer, outside rustc: {:>6.2} ms) (median of {rounds})",
        text.len() / 1024,
        ms(load),
        ms(parse),
        ms(gen_),
        ms(total),
        per_k(total),
        ms(lex),
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--emit") {
        let n = args.get(i + 1).and_then(|s| s.parse().ok()).unwrap_or(10);
        print!("{}", registry(n));
        return;
    }
    if args.iter().any(|a| a == "--test" || a == "--list") {
        return; // `cargo test --benches` smoke-runs bench targets; nothing to test here.
    }
    measure(1_000, 15);
    measure(10_000, 5);
}
