//! The append-only audit record: one JSON line per decision, with the run it belongs to and every
//! number behind it, appended (never rewritten) to a file whose path the caller chooses.

use std::io::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use super::report::{GuardReport, RunInfo};

fn append_lines(path: &Path, lines: &[Value]) -> std::io::Result<()> {
    let mut text = String::new();
    for line in lines {
        text.push_str(&line.to_string());
        text.push('\n');
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    // One write, so lines of concurrent runs do not interleave mid-line.
    file.write_all(text.as_bytes())?;
    file.sync_data()
}

/// Appends one line per decision (and one per skipped flag) of `report` to `path`, creating the
/// file if needed. Each line carries `run_id`, `at` and `dry_run`.
pub fn append(path: &Path, report: &GuardReport) -> std::io::Result<()> {
    let run = &report.run;
    let stamp = |mut v: Value, kind: &str| {
        if let Some(obj) = v.as_object_mut() {
            obj.insert("record".into(), json!(kind));
            obj.insert("run_id".into(), json!(run.run_id));
            obj.insert("at".into(), json!(run.at));
            obj.insert("dry_run".into(), json!(run.dry_run));
        }
        v
    };
    let mut lines = Vec::with_capacity(report.decisions.len() + report.skipped.len());
    for d in &report.decisions {
        lines.push(stamp(
            serde_json::to_value(d).unwrap_or(Value::Null),
            "decision",
        ));
    }
    for s in &report.skipped {
        lines.push(stamp(
            serde_json::to_value(s).unwrap_or(Value::Null),
            "skipped",
        ));
    }
    append_lines(path, &lines)
}

/// Appends a record of a run that could not judge anything (PostHog unreachable, the query
/// refused), so the record shows the gap.
pub fn append_failure(path: &Path, run: &RunInfo, error: &str) -> std::io::Result<()> {
    append_lines(
        path,
        &[json!({
            "record": "run_failed", "run_id": run.run_id, "at": run.at, "dry_run": run.dry_run,
            "error": error,
        })],
    )
}
