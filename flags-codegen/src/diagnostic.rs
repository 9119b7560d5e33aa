//! Diagnostics: what is wrong, where in `flags.yaml`, and how to fix it.
//!
//! One [`Diagnostic`] type serves the proc macro (rendered into `compile_error!`), `flagsync
//! check` (human, JSON and GitHub annotation output) and the unit tests (which assert line and
//! column). Rendering follows rustc's layout: message, `--> file:line:col`, the offending line
//! with a caret, then `= help:`.

use std::fmt::Write as _;

/// A 1-based line and column in the yaml file (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub col: u32,
}

impl Pos {
    /// A position from a line and a column (both 1-based).
    pub const fn new(line: u32, col: u32) -> Self {
        Pos { line, col }
    }

    /// The same line, `n` characters further right.
    pub const fn shifted(self, n: u32) -> Self {
        Pos {
            line: self.line,
            col: self.col + n,
        }
    }
}

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The registry is invalid: the build fails.
    Error,
    /// A governance finding (`flagsync check`): reported, never breaks a build.
    Warning,
}

impl Severity {
    /// `"error"` or `"warning"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A second place that explains a diagnostic (e.g. the first of two duplicate keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    /// Where.
    pub pos: Pos,
    /// What is there.
    pub message: String,
}

/// One problem in `flags.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// A stable, kebab-case identifier of the kind of problem (e.g. `unknown-field`).
    pub code: &'static str,
    /// Where the problem is.
    pub pos: Pos,
    /// What is wrong, in one sentence.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    /// Other places that explain it.
    pub related: Vec<Related>,
    /// How many characters to underline (0: the token at `pos`).
    pub len: u32,
}

impl Diagnostic {
    /// An error at `pos`.
    pub fn error(pos: Pos, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code: "invalid",
            pos,
            message: message.into(),
            help: None,
            related: Vec::new(),
            len: 0,
        }
    }

    /// A warning (governance finding) at `pos`.
    pub fn warning(pos: Pos, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(pos, message)
        }
    }

    /// Sets the kind identifier.
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }

    /// Sets the help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Underlines `len` characters instead of the whole token.
    pub fn with_len(mut self, len: u32) -> Self {
        self.len = len;
        self
    }

    /// Adds a related place.
    pub fn with_related(mut self, pos: Pos, message: impl Into<String>) -> Self {
        self.related.push(Related {
            pos,
            message: message.into(),
        });
        self
    }

    /// Renders the diagnostic as rustc does, with a snippet of `source` (the file's text)
    /// under `--> {file}:{line}:{col}`.
    pub fn render(&self, file: &str, source: &str) -> String {
        format!(
            "{}: {}",
            self.severity.as_str(),
            self.render_body(file, source)
        )
    }

    /// [`render`](Self::render) without the leading `error: `, for `compile_error!` (rustc
    /// prints its own `error:` in front).
    pub fn render_body(&self, file: &str, source: &str) -> String {
        let mut out = format!("{}\n", self.message);
        let width = self
            .related
            .iter()
            .map(|r| r.pos.line)
            .chain([self.pos.line])
            .max()
            .unwrap_or(1)
            .to_string()
            .len();
        render_snippet(&mut out, file, source, self.pos, self.len, width, None);
        for related in &self.related {
            render_snippet(
                &mut out,
                file,
                source,
                related.pos,
                0,
                width,
                Some(&related.message),
            );
        }
        if let Some(help) = &self.help {
            let _ = writeln!(out, "{:width$} = help: {help}", "");
        }
        out.truncate(out.trim_end().len());
        out
    }
}

fn render_snippet(
    out: &mut String,
    file: &str,
    source: &str,
    pos: Pos,
    len: u32,
    width: usize,
    label: Option<&str>,
) {
    let _ = writeln!(out, "{:width$}--> {file}:{}:{}", "", pos.line, pos.col);
    let Some(line) = source.lines().nth(pos.line.saturating_sub(1) as usize) else {
        return;
    };
    let line = line.trim_end();
    let _ = writeln!(out, "{:width$} |", "");
    let _ = writeln!(out, "{:>width$} | {line}", pos.line);
    let start = pos.col.saturating_sub(1) as usize;
    let len = if len > 0 {
        len as usize
    } else {
        token_len(line, start)
    };
    let pad: String = line
        .chars()
        .take(start)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let carets = "^".repeat(len);
    match label {
        Some(label) => {
            let _ = writeln!(out, "{:width$} | {pad}{carets} {label}", "");
        }
        None => {
            let _ = writeln!(out, "{:width$} | {pad}{carets}", "");
        }
    }
}

/// How many characters the token starting at character `start` of `line` spans (at least 1).
fn token_len(line: &str, start: usize) -> usize {
    let mut chars = line.chars().skip(start).peekable();
    let Some(&first) = chars.peek() else {
        return 1;
    };
    if first == '"' || first == '\'' {
        let mut n = 1;
        chars.next();
        for c in chars {
            n += 1;
            if c == first {
                break;
            }
        }
        return n;
    }
    let n = line
        .chars()
        .skip(start)
        .take_while(|c| !matches!(c, ':' | ',' | ']' | '}' | '#') && !c.is_whitespace())
        .count();
    n.max(1)
}

/// The closest of `candidates` to `word` within a small edit distance, for "did you mean".
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_rustc() {
        let src = "flags:\n  bad_key:\n    ownr: x\n";
        let d = Diagnostic::error(Pos::new(3, 5), "unknown field `ownr`")
            .with_help("did you mean `owner`?");
        assert_eq!(
            d.render("flags.yaml", src),
            "error: unknown field `ownr`\n --> flags.yaml:3:5\n  |\n3 |     ownr: x\n  |     ^^^^\n  = help: did you mean `owner`?"
        );
    }

    #[test]
    fn suggests_close_words_only() {
        assert_eq!(did_you_mean("ownr", ["owner", "tags"]), Some("owner"));
        assert_eq!(did_you_mean("zzzz", ["owner", "tags"]), None);
    }
}
