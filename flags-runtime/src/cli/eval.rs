//! `flagsync eval --input FILE`: evaluate flag definitions for a list of cases, one JSON line
//! per case (the oracle's format): "why did this user get this?".

use std::path::PathBuf;

use clap::Args;

use super::Exit;

/// Arguments of `flagsync eval`.
#[derive(Debug, Args)]
pub(crate) struct EvalArgs {
    /// `{"definitions": …, "cases": […], "users": {…}}`: the /flags/definitions response and the
    /// cases to evaluate.
    #[arg(long)]
    input: PathBuf,
}

pub(crate) fn run(args: &EvalArgs) -> Exit {
    let text = match std::fs::read_to_string(&args.input) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", args.input.display());
            return Exit::Failed;
        }
    };
    match crate::eval::oracle_format::run(&text) {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            Exit::Clean
        }
        Err(e) => {
            eprintln!("error: {}: {e}", args.input.display());
            Exit::Failed
        }
    }
}
