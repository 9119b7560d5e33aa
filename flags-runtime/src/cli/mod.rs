//! The `flagsync` command line: `check` today; `sync`, `track` and `guard` build on it.
//!
//! Exit codes, for every command: `0` clean, `1` the tool failed (bad arguments, unreadable
//! file, PostHog unreachable), `2` findings (errors or governance findings in the registry,
//! drift). Machine output (`--format json|github`) goes to stdout, human output to stderr.

mod check;
mod common;
mod demo;
mod emulator;
mod eval;
mod guard;
mod output;
mod sync;
mod track;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::registry::Registry;

/// Process exit codes shared by every command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Nothing to report.
    Clean = 0,
    /// The tool could not do its job.
    Failed = 1,
    /// The registry has errors or findings, or PostHog drifted from it.
    Findings = 2,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Diagnostics as rustc prints them, on stderr.
    Human,
    /// One JSON document on stdout.
    Json,
    /// GitHub Actions workflow commands (`::error file=…`) on stdout, annotating the yaml.
    Github,
}

#[derive(Debug, Parser)]
#[command(
    name = "flagsync",
    about = "Feature flags governed like code: check flags.yaml, keep PostHog in line with it.",
    after_help = "Exit codes: 0 clean, 1 the tool failed, 2 findings (errors, governance findings, drift)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate flags.yaml offline: the compiler's diagnostics plus governance findings.
    Check(check::CheckArgs),
    /// Evaluate flag definitions for a list of cases, one JSON line per case.
    Eval(eval::EvalArgs),
    /// Serve the local PostHog emulator on 127.0.0.1.
    Emulator(emulator::EmulatorArgs),
    /// Keep PostHog in line with the registry: create missing flags (inactive, 0%), add tags,
    /// fix descriptions; never delete, never touch rollout.
    Sync(sync::SyncArgs),
    /// Judge guarded rollouts (one HogQL query) and disable enforced regressions.
    Guard(guard::GuardArgs),
    /// Report released, stale and expired flags, orphans and naming violations, by owner.
    Track(track::TrackArgs),
    /// Run check, sync, track and guard against a seeded local PostHog emulator, step by step.
    Demo(demo::DemoArgs),
}

/// Runs `flagsync` with the process arguments. `registry` is the one compiled into the
/// binary (`flags::REGISTRY`); commands that talk to PostHog use it.
pub fn main(registry: &'static Registry) -> ExitCode {
    run(std::env::args_os(), registry).into()
}

/// Runs `flagsync` with these arguments (the first is the program name).
pub fn run<I, T>(args: I, registry: &'static Registry) -> Exit
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                Exit::Failed
            } else {
                Exit::Clean
            };
            let _ = e.print();
            return code;
        }
    };
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Emulator(args) => emulator::run(&args),
        Command::Sync(args) => sync::run(&args, registry),
        Command::Guard(args) => guard::run(&args, registry),
        Command::Track(args) => track::run(&args, registry),
        Command::Demo(args) => demo::run(&args, registry),
    }
}
