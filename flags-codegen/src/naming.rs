//! The naming convention for flag keys, and how keys and variants become Rust identifiers.
//!
//! A convention is a pattern of `{placeholders}` joined by literal separators, by default
//! `{lifecycle}_{area}_{name}`. A placeholder with a declared set of values (`lifecycle`,
//! `area`, or any set under `naming.segments`) must be one of them; a free placeholder is one
//! lower-case word, or, when it is the last one, the rest of the key. The same matcher serves
//! the macro (compile errors), `flagsync check`, and the runtime jobs that check PostHog's keys
//! through the generated registry.

use std::fmt;

/// The default pattern.
pub const DEFAULT_PATTERN: &str = "{lifecycle}_{area}_{name}";

/// The default lifecycles.
pub const DEFAULT_LIFECYCLES: [&str; 4] = ["release", "experiment", "ops", "tier"];

/// One piece of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part<'a> {
    Literal(&'a str),
    Segment {
        name: &'a str,
        values: Option<Vec<&'a str>>,
    },
}

/// A compiled naming convention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Convention<'a> {
    parts: Vec<Part<'a>>,
}

/// A pattern that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    /// Character offset in the pattern.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// Why a key breaks the convention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// The key is empty.
    Empty,
    /// An upper-case letter at `offset` (characters).
    UpperCase {
        /// Character offset in the key.
        offset: usize,
    },
    /// A character other than `a-z`, `0-9`, `_` at `offset`.
    BadCharacter {
        /// Character offset in the key.
        offset: usize,
        /// The character.
        found: char,
    },
    /// An empty segment (leading, trailing or doubled `_`) at `offset`.
    EmptySegment {
        /// Character offset in the key.
        offset: usize,
    },
    /// A segment with a declared set holds a value outside it.
    UnknownValue {
        /// Character offset in the key.
        offset: usize,
        /// The placeholder (`lifecycle`, `area`, …).
        segment: String,
        /// What the key has there.
        found: String,
        /// The declared values.
        expected: Vec<String>,
    },
    /// The key ends before the pattern does.
    MissingSegment {
        /// Character offset in the key (its length).
        offset: usize,
        /// The placeholder that has no value.
        segment: String,
    },
    /// The key does not have the separator the pattern wants.
    ExpectedLiteral {
        /// Character offset in the key.
        offset: usize,
        /// The separator.
        literal: String,
    },
}

impl Violation {
    /// The character offset in the key where the problem is.
    pub fn offset(&self) -> usize {
        match self {
            Violation::Empty => 0,
            Violation::UpperCase { offset }
            | Violation::BadCharacter { offset, .. }
            | Violation::EmptySegment { offset }
            | Violation::UnknownValue { offset, .. }
            | Violation::MissingSegment { offset, .. }
            | Violation::ExpectedLiteral { offset, .. } => *offset,
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Empty => f.write_str("the key is empty"),
            Violation::UpperCase { .. } => {
                f.write_str("upper-case letter: keys are lower snake case")
            }
            Violation::BadCharacter { found, .. } => {
                write!(
                    f,
                    "bad character `{}`: keys use only a-z, 0-9 and `_`",
                    found.escape_default()
                )
            }
            Violation::EmptySegment { .. } => {
                f.write_str("empty segment: `_` at the start, at the end or twice in a row")
            }
            Violation::UnknownValue {
                segment,
                found,
                expected,
                ..
            } => write!(
                f,
                "unknown {segment} `{found}` (expected one of: {})",
                expected.join(", ")
            ),
            Violation::MissingSegment { segment, .. } => {
                write!(f, "the key has no {segment} segment")
            }
            Violation::ExpectedLiteral { literal, .. } => write!(f, "expected `{literal}` here"),
        }
    }
}

impl<'a> Convention<'a> {
    /// Compiles `pattern`; `values_of(name)` gives the declared values of a placeholder, or
    /// `None` for a free one.
    pub fn new(
        pattern: &'a str,
        mut values_of: impl FnMut(&str) -> Option<Vec<&'a str>>,
    ) -> Result<Self, PatternError> {
        let mut parts = Vec::new();
        let mut rest = pattern;
        let mut offset = 0;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('{') {
                let Some(end) = after.find('}') else {
                    return Err(PatternError {
                        offset,
                        message: "unclosed `{`".into(),
                    });
                };
                let name = &after[..end];
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                    return Err(PatternError {
                        offset,
                        message: format!("placeholder `{{{name}}}` must be a lower-case name"),
                    });
                }
                if matches!(parts.last(), Some(Part::Segment { .. })) {
                    return Err(PatternError {
                        offset,
                        message: "two placeholders need a separator between them".into(),
                    });
                }
                if parts
                    .iter()
                    .any(|p| matches!(p, Part::Segment { name: n, .. } if *n == name))
                {
                    return Err(PatternError {
                        offset,
                        message: format!("placeholder `{{{name}}}` appears twice"),
                    });
                }
                parts.push(Part::Segment {
                    name,
                    values: values_of(name),
                });
                offset += end + 2;
                rest = &after[end + 1..];
            } else {
                let end = rest.find('{').unwrap_or(rest.len());
                let literal = &rest[..end];
                if !literal
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                {
                    return Err(PatternError {
                        offset,
                        message: format!("literal `{literal}` may hold only a-z, 0-9 and `_`"),
                    });
                }
                parts.push(Part::Literal(literal));
                offset += end;
                rest = &rest[end..];
            }
        }
        if !parts.iter().any(|p| matches!(p, Part::Segment { .. })) {
            return Err(PatternError {
                offset: 0,
                message: "the pattern needs at least one `{placeholder}`".into(),
            });
        }
        Ok(Convention { parts })
    }

    /// The placeholders of the pattern, in order.
    pub fn segment_names(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.parts.iter().filter_map(|p| match p {
            Part::Segment { name, .. } => Some(*name),
            Part::Literal(_) => None,
        })
    }

    /// Checks `key`; on success returns each placeholder with the part of the key it matched.
    pub fn check<'k>(&self, key: &'k str) -> Result<Vec<(&'a str, &'k str)>, Violation> {
        check_charset(key)?;
        let mut found = Vec::new();
        let mut pos = 0; // byte offset == char offset: the charset is ASCII
        for (i, part) in self.parts.iter().enumerate() {
            let rest = &key[pos..];
            match part {
                Part::Literal(lit) => {
                    if !rest.starts_with(lit) {
                        return Err(Violation::ExpectedLiteral {
                            offset: pos,
                            literal: (*lit).to_string(),
                        });
                    }
                    pos += lit.len();
                }
                Part::Segment { name, values } => {
                    let next_literal = match self.parts.get(i + 1) {
                        Some(Part::Literal(l)) => Some(*l),
                        _ => None,
                    };
                    if rest.is_empty() {
                        return Err(Violation::MissingSegment {
                            offset: pos,
                            segment: (*name).to_string(),
                        });
                    }
                    let fits = |len: usize| match next_literal {
                        Some(l) => rest[len..].starts_with(l),
                        None => len == rest.len(),
                    };
                    let len = match values {
                        Some(values) => values
                            .iter()
                            .filter(|v| !v.is_empty() && rest.starts_with(**v) && fits(v.len()))
                            .map(|v| v.len())
                            .max(),
                        None => match next_literal {
                            Some(l) => rest.find(l).filter(|&n| n > 0),
                            None => Some(rest.len()),
                        },
                    };
                    let Some(len) = len else {
                        // The whole rest is a declared value, but the pattern wants more.
                        if let (Some(values), Some(Part::Segment { name: next, .. })) =
                            (values, self.parts.get(i + 2))
                            && values.contains(&rest)
                        {
                            return Err(Violation::MissingSegment {
                                offset: key.len(),
                                segment: (*next).to_string(),
                            });
                        }
                        let word_end = rest.find('_').unwrap_or(rest.len());
                        return Err(match values {
                            Some(values) => Violation::UnknownValue {
                                offset: pos,
                                segment: (*name).to_string(),
                                found: rest[..word_end].to_string(),
                                expected: values.iter().map(|v| (*v).to_string()).collect(),
                            },
                            None => Violation::MissingSegment {
                                offset: pos + word_end,
                                segment: (*name).to_string(),
                            },
                        });
                    };
                    found.push((*name, &rest[..len]));
                    pos += len;
                }
            }
        }
        if pos < key.len() {
            // Only reachable when the pattern ends in a literal.
            return Err(Violation::ExpectedLiteral {
                offset: pos,
                literal: String::new(),
            });
        }
        Ok(found)
    }
}

/// Lower snake case: `a-z`, `0-9`, single `_` between non-empty segments.
fn check_charset(key: &str) -> Result<(), Violation> {
    if key.is_empty() {
        return Err(Violation::Empty);
    }
    for (offset, c) in key.chars().enumerate() {
        if c.is_uppercase() {
            return Err(Violation::UpperCase { offset });
        }
        if !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            return Err(Violation::BadCharacter { offset, found: c });
        }
    }
    let bytes = key.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'_' && (i == 0 || i + 1 == bytes.len() || bytes[i + 1] == b'_') {
            return Err(Violation::EmptySegment {
                offset: if i == 0 { 0 } else { i + 1 },
            });
        }
    }
    Ok(())
}

/// `release_studio_new_editor` → `ReleaseStudioNewEditor`; `gpt_4o` → `Gpt4o`.
pub fn upper_camel(snake: &str) -> String {
    snake
        .split(['_', '-'])
        .filter(|s| !s.is_empty())
        .map(|s| {
            let mut c = s.chars();
            c.next()
                .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
        })
        .collect()
}

/// `release_studio_NewEditor` → `release_studio_new_editor`; `-` and spaces become `_`.
pub fn to_snake(text: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in text.chars() {
        if c.is_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.extend(c.to_lowercase());
            prev_lower = false;
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
            prev_lower = true;
        } else {
            if !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = false;
        }
    }
    out
}

/// Why a name cannot be a Rust identifier.
pub fn identifier_problem(ident: &str) -> Option<String> {
    let Some(first) = ident.chars().next() else {
        return Some("it becomes an empty Rust identifier".into());
    };
    if !(first.is_ascii_alphabetic() || first == '_') {
        return Some(format!(
            "it becomes `{ident}`, which is not a Rust identifier (it starts with `{first}`)"
        ));
    }
    if !ident.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Some(format!(
            "it becomes `{ident}`, which is not a Rust identifier"
        ));
    }
    if RUST_KEYWORDS.contains(&ident) {
        return Some(format!("it becomes `{ident}`, a Rust keyword"));
    }
    None
}

/// Rust's strict and reserved keywords (2024 edition) that an UpperCamel name can hit, plus
/// the lower-case ones for completeness.
const RUST_KEYWORDS: &[&str] = &[
    "Self", "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum",
    "extern", "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod",
    "move", "mut", "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true",
    "type", "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn default_convention() -> Convention<'static> {
        Convention::new(DEFAULT_PATTERN, |name| match name {
            "lifecycle" => Some(DEFAULT_LIFECYCLES.to_vec()),
            "area" => Some(vec!["studio", "ai", "billing_ops"]),
            _ => None,
        })
        .expect("valid pattern")
    }

    #[test]
    fn matches_default_pattern() {
        let c = default_convention();
        assert_eq!(
            c.check("release_studio_new_editor"),
            Ok(vec![
                ("lifecycle", "release"),
                ("area", "studio"),
                ("name", "new_editor")
            ])
        );
        assert_eq!(
            c.check("ops_billing_ops_kill"),
            Ok(vec![
                ("lifecycle", "ops"),
                ("area", "billing_ops"),
                ("name", "kill")
            ])
        );
    }

    #[test]
    fn says_which_part_is_wrong() {
        let c = default_convention();
        assert!(
            matches!(c.check("rollout_studio_x"), Err(Violation::UnknownValue { offset: 0, ref segment, .. }) if segment == "lifecycle")
        );
        assert!(
            matches!(c.check("release_web_x"), Err(Violation::UnknownValue { offset: 8, ref segment, .. }) if segment == "area")
        );
        assert_eq!(
            c.check("release_Studio_x"),
            Err(Violation::UpperCase { offset: 8 })
        );
        assert_eq!(
            c.check("release-studio-x"),
            Err(Violation::BadCharacter {
                offset: 7,
                found: '-'
            })
        );
        assert_eq!(
            c.check("release__studio"),
            Err(Violation::EmptySegment { offset: 8 })
        );
        assert!(matches!(
            c.check("release_studio"),
            Err(Violation::MissingSegment { .. })
        ));
    }

    #[test]
    fn custom_pattern() {
        let c = Convention::new("{surface}_{segment}_{feature}_{goal}", |n| match n {
            "surface" => Some(vec!["web", "api"]),
            "segment" => Some(vec!["free", "pro"]),
            _ => None,
        })
        .expect("valid");
        assert_eq!(
            c.check("web_pro_export_csv_speed"),
            Ok(vec![
                ("surface", "web"),
                ("segment", "pro"),
                ("feature", "export"),
                ("goal", "csv_speed")
            ])
        );
        assert!(Convention::new("{a}{b}", |_| None).is_err());
        assert!(Convention::new("plain", |_| None).is_err());
    }

    #[test]
    fn snake() {
        assert_eq!(
            to_snake("release_studio_NewEditor"),
            "release_studio_new_editor"
        );
        assert_eq!(to_snake("release-studio x"), "release_studio_x");
    }

    #[test]
    fn identifiers() {
        assert_eq!(
            upper_camel("release_studio_new_editor"),
            "ReleaseStudioNewEditor"
        );
        assert_eq!(upper_camel("gpt_4o"), "Gpt4o");
        assert!(identifier_problem(&upper_camel("self")).is_some());
        assert!(identifier_problem(&upper_camel("4k")).is_some());
        assert!(identifier_problem("").is_some());
        assert!(identifier_problem("Control").is_none());
    }
}
