//! `flagsync check`: validate `flags.yaml` offline with the compiler's own diagnostics, plus
//! governance findings that never break a build.

use std::path::{Path, PathBuf};

use clap::Args;
use flags_codegen::date::Date;
use flags_codegen::{Severity, governance};

use super::output::{Report, emit};
use super::{Exit, Format};

/// Arguments of `flagsync check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The registry file.
    #[arg(long, default_value = "flags.yaml")]
    file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// The day to judge expiry and lifetimes against (YYYY-MM-DD; default: today, UTC).
    #[arg(long, value_parser = parse_date)]
    today: Option<Date>,
}

fn parse_date(s: &str) -> Result<Date, String> {
    Date::parse(s)
}

pub(crate) fn run(args: &CheckArgs) -> Exit {
    check_file(
        &args.file,
        args.format,
        args.today.unwrap_or_else(Date::today_utc),
    )
}

/// Checks the registry in `file` on day `today` and prints the report in `format`: what
/// `flagsync check` does (the demo runs it on the registry compiled into `flagsync`).
pub(crate) fn check_file(file: &Path, format: Format, today: Date) -> Exit {
    let name = file.display().to_string();
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read the flag registry {name}: {e}");
            return Exit::Failed;
        }
    };
    let parsed = flags_codegen::parse(&text);
    let mut diagnostics = parsed.diagnostics;
    let has_errors = diagnostics.iter().any(|d| d.severity == Severity::Error);
    let flags = parsed.registry.as_ref().map_or(0, |r| r.flags.len());
    if let (Some(registry), false) = (&parsed.registry, has_errors) {
        diagnostics.extend(governance::findings(registry, today));
    }
    let report = Report {
        file: &name,
        source: &text,
        flags,
        diagnostics: &diagnostics,
    };
    emit(&report, format);
    if diagnostics.is_empty() {
        Exit::Clean
    } else {
        Exit::Findings
    }
}
