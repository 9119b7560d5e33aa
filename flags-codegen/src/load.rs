//! Reading YAML text into a tree of [`Node`]s that remember where they stand.
//!
//! This is the only module that names the YAML library (serde-saphyr and its parser), so it can be replaced
//! without touching validation or code generation. Everything after this point works on
//! [`Node`]: a YAML value with the line and column of its first character, where mapping
//! entries are kept in file order *with duplicates*, so that validation can name both lines
//! of a duplicate key.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle};

use crate::diagnostic::{Diagnostic, Pos};

/// One YAML value with its position in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the value starts (1-based line and column).
    pub pos: Pos,
    /// The value itself.
    pub value: Value,
}

/// A YAML value. Mappings keep every entry in file order, duplicates included.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `~`, `null` or an empty value.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer that fits in `i64`.
    Int(i64),
    /// A floating-point number (or an integer too large for `i64`).
    Float(f64),
    /// A string scalar (plain or quoted).
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, entries in file order, duplicates kept.
    Map(Vec<(Node, Node)>),
}

impl Value {
    /// The name of this value's YAML type, for "expected X, found Y" messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// The most nodes one document may produce, aliases expanded: a guard against "billion laughs".
const MAX_NODES: usize = 2_000_000;

/// Parses YAML `source` into a [`Node`] tree.
///
/// A syntax error becomes one [`Diagnostic`] at the position the parser reports. An empty
/// document is `Value::Null` at line 1, column 1. Reads the event stream of serde-saphyr's own
/// parser (granit-parser, re-exported by serde-saphyr) directly: it gives the position of every
/// key and value, keeps duplicate keys for validation to report with both lines, and costs a
/// third of going through serde's data model.
pub fn load(source: &str) -> Result<Node, Diagnostic> {
    let mut builder = Builder::default();
    for item in Parser::new_from_str(source) {
        let (event, span) = item.map_err(|e| {
            let m = e.marker();
            syntax_error(Pos::new(m.line() as u32, m.col() as u32 + 1), &e.info())
        })?;
        let pos = Pos::new(span.start.line() as u32, span.start.col() as u32 + 1);
        if builder.event(event, pos)? {
            break;
        }
    }
    Ok(builder.root.unwrap_or(Node {
        pos: Pos::new(1, 1),
        value: Value::Null,
    }))
}

fn syntax_error(pos: Pos, message: &str) -> Diagnostic {
    let message = message.lines().next().unwrap_or("syntax error");
    Diagnostic::error(pos, format!("invalid YAML: {message}")).with_help(
        "fix the YAML syntax at this position (indentation, quoting, `key: value` pairs)",
    )
}

enum Frame {
    Seq(Pos, usize, Vec<Node>),
    Map(Pos, usize, Vec<(Node, Node)>, Option<Node>),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    nodes: usize,
}

impl Builder {
    /// Feeds one event; true when the first document is complete.
    fn event(&mut self, event: Event<'_>, pos: Pos) -> Result<bool, Diagnostic> {
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let is_str_tag = tag.as_ref().is_some_and(|t| t.suffix() == "str");
                let value = if style == ScalarStyle::Plain && !is_str_tag {
                    resolve_plain(&text)
                } else {
                    Value::Str(text.into_owned())
                };
                self.push(Node { pos, value }, anchor)?;
            }
            Event::SequenceStart(_, anchor, _) => {
                self.stack.push(Frame::Seq(pos, anchor, Vec::new()))
            }
            Event::MappingStart(_, anchor, _) => {
                self.stack.push(Frame::Map(pos, anchor, Vec::new(), None))
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq(pos, anchor, items)) => (
                        Node {
                            pos,
                            value: Value::Seq(items),
                        },
                        anchor,
                    ),
                    Some(Frame::Map(pos, anchor, entries, _)) => (
                        Node {
                            pos,
                            value: Value::Map(entries),
                        },
                        anchor,
                    ),
                    None => return Err(syntax_error(pos, "unbalanced collection end")),
                };
                self.push(node, anchor)?;
            }
            Event::Alias(id) => {
                let Some(target) = self.anchors.get(&id).cloned() else {
                    return Err(syntax_error(pos, "alias to an unknown anchor"));
                };
                self.nodes += count(&target);
                self.push(Node { pos, ..target }, 0)?;
            }
            Event::UnresolvedAlias(name) => {
                return Err(syntax_error(pos, &format!("alias `*{name}` has no anchor")));
            }
            Event::DocumentEnd => return Ok(self.root.is_some()),
            _ => {}
        }
        Ok(false)
    }

    fn push(&mut self, node: Node, anchor: usize) -> Result<(), Diagnostic> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(syntax_error(
                node.pos,
                "the document expands to too many nodes (aliases?)",
            ));
        }
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq(_, _, items)) => items.push(node),
            Some(Frame::Map(_, _, entries, pending)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => entries.push((key, node)),
            },
        }
        Ok(())
    }
}

fn count(node: &Node) -> usize {
    match &node.value {
        Value::Seq(items) => 1 + items.iter().map(count).sum::<usize>(),
        Value::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| count(k) + count(v))
                .sum::<usize>()
        }
        _ => 1,
    }
}

/// YAML 1.2 core schema for plain scalars: null, `true`/`false` only, integers (decimal,
/// `0x`, `0o`), floats (`.inf`, `.nan`); anything else is a string.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<i64>().map_or_else(
            |_| Value::Float(text.parse().unwrap_or(f64::NAN)),
            Value::Int,
        );
    }
    if let Some(hex) = text.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Value::Int(i);
    }
    if let Some(oct) = text.strip_prefix("0o")
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return Value::Int(i);
    }
    let float_shape = digits.bytes().any(|b| b.is_ascii_digit())
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && digits
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_digit() || b == b'.');
    if float_shape && let Ok(f) = text.parse::<f64>() {
        return Value::Float(f);
    }
    Value::Str(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(src: &str) -> Value {
        load(src).map(|n| n.value).unwrap_or(Value::Null)
    }

    #[test]
    fn core_schema_scalars() {
        let Value::Map(entries) =
            value("a: 1\nb: -2.5\nc: on\nd: true\ne: ~\nf: \"1\"\ng: 2027-01-31\nh: 0x1f\n")
        else {
            panic!("a mapping");
        };
        let values: Vec<Value> = entries.into_iter().map(|(_, v)| v.value).collect();
        assert_eq!(
            values,
            [
                Value::Int(1),
                Value::Float(-2.5),
                Value::Str("on".into()),
                Value::Bool(true),
                Value::Null,
                Value::Str("1".into()),
                Value::Str("2027-01-31".into()),
                Value::Int(31),
            ]
        );
    }

    #[test]
    fn aliases_resolve_and_keep_their_use_position() {
        let node = load("a: &x {k: 1}\nb: *x\n").expect("valid");
        let Value::Map(entries) = node.value else {
            panic!("a mapping")
        };
        assert_eq!(entries[1].1.value, entries[0].1.value);
        assert_eq!(entries[1].1.pos, Pos::new(2, 4));
    }

    #[test]
    fn duplicate_keys_are_kept_for_validation() {
        let Value::Map(entries) = value("a: 1\na: 2\n") else {
            panic!("a mapping")
        };
        assert_eq!(entries.len(), 2);
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            src.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        assert!(load(&src).is_err());
    }
}
