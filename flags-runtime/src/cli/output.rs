//! Rendering diagnostics as human text, JSON, or GitHub Actions annotations.

use flags_codegen::{Diagnostic, Severity};
use serde_json::json;

use super::Format;

/// What a command reports about one yaml file.
pub(crate) struct Report<'a> {
    pub(crate) file: &'a str,
    pub(crate) source: &'a str,
    pub(crate) flags: usize,
    pub(crate) diagnostics: &'a [Diagnostic],
}

impl Report<'_> {
    fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }
}

/// Prints the report in `format`.
pub(crate) fn emit(report: &Report<'_>, format: Format) {
    match format {
        Format::Human => {
            for d in report.diagnostics {
                eprintln!("{}\n", d.render(report.file, report.source));
            }
            eprintln!(
                "{}: {} flags, {} errors, {} findings",
                report.file,
                report.flags,
                report.count(Severity::Error),
                report.count(Severity::Warning)
            );
        }
        Format::Json => println!("{}", json_report(report)),
        Format::Github => {
            for d in report.diagnostics {
                println!("{}", github_annotation(report.file, d));
            }
        }
    }
}

fn json_report(report: &Report<'_>) -> serde_json::Value {
    let diagnostics: Vec<serde_json::Value> = report
        .diagnostics
        .iter()
        .map(|d| {
            json!({
                "severity": d.severity.as_str(),
                "code": d.code,
                "file": report.file,
                "line": d.pos.line,
                "column": d.pos.col,
                "message": d.message,
                "help": d.help,
                "related": d.related.iter().map(|r| json!({"line": r.pos.line, "column": r.pos.col, "message": r.message})).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "file": report.file,
        "flags": report.flags,
        "errors": report.count(Severity::Error),
        "findings": report.count(Severity::Warning),
        "diagnostics": diagnostics,
    })
}

/// `::error file=…,line=…,col=…,title=…::message`, escaped as GitHub's workflow commands want.
fn github_annotation(file: &str, d: &Diagnostic) -> String {
    let level = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    format!(
        "::{level} file={},line={},col={},title={}::{}",
        escape_property(file),
        d.pos.line,
        d.pos.col,
        escape_property(&format!("flags {}", d.code)),
        escape_data(&message)
    )
}

pub(crate) fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

pub(crate) fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use flags_codegen::Pos;

    #[test]
    fn github_annotations_are_escaped() {
        let d = Diagnostic::error(Pos::new(3, 5), "100% wrong, really")
            .with_code("naming")
            .with_help("fix: this");
        assert_eq!(
            github_annotation("a,b.yaml", &d),
            "::error file=a%2Cb.yaml,line=3,col=5,title=flags naming::100%25 wrong, really%0Ahelp: fix: this"
        );
    }
}
