//! Reading YAML text into a tree of [`Node`]s that remember where they stand.
//!
//! This is the only module that names the YAML library (serde-saphyr), so it can be replaced
//! without touching validation or code generation. Everything after this point works on
//! [`Node`]: a YAML value with the line and column of its first character, where mapping
//! entries are kept in file order *with duplicates*, so that validation can name both lines
//! of a duplicate key.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

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

/// Parses YAML `source` into a [`Node`] tree.
///
/// A syntax error becomes one [`Diagnostic`] at the position the parser reports. An empty
/// document is `Value::Null` at line 1, column 1.
pub fn load(source: &str) -> Result<Node, Diagnostic> {
    if source.trim().is_empty() {
        return Ok(Node {
            pos: Pos::new(1, 1),
            value: Value::Null,
        });
    }
    let options = serde_saphyr::options! {
        // Keep every entry: `NodeVisitor` records duplicates itself so both lines can be named.
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
        with_snippet: false,
        // YAML 1.2 booleans: `on`, `no`, `y` stay strings (a variant may be called `on`).
        strict_booleans: true,
    };
    match serde_saphyr::from_str_with_options::<SpannedNode>(source, options) {
        Ok(node) => Ok(node.0),
        Err(err) => {
            let pos = err
                .location()
                .filter(|l| l.line() > 0)
                .map(|l| Pos::new(l.line() as u32, l.column().max(1) as u32))
                .unwrap_or(Pos::new(1, 1));
            Err(Diagnostic::error(pos, format!("invalid YAML: {}", clean_message(&err)))
                .with_help("fix the YAML syntax at this position (indentation, quoting, `key: value` pairs)"))
        }
    }
}

/// serde-saphyr's message without its own location suffix (we print ours).
fn clean_message(err: &serde_saphyr::Error) -> String {
    let text = err.without_snippet().to_string();
    let first = text.lines().next().unwrap_or("").trim();
    // Drop a trailing " at line L, column C" the library may add.
    match first.find(" at line ") {
        Some(i) => first[..i].to_string(),
        None => first.to_string(),
    }
}

/// A [`Node`] deserialized through serde-saphyr's `Spanned`, which carries the location.
struct SpannedNode(Node);

impl<'de> Deserialize<'de> for SpannedNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<RawValue>::deserialize(deserializer)?;
        let loc = spanned.referenced;
        Ok(SpannedNode(Node {
            pos: Pos::new(loc.line() as u32, loc.column() as u32),
            value: spanned.value.0,
        }))
    }
}

/// The value half of a node, deserialized with `deserialize_any`.
struct RawValue(Value);

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor).map(RawValue)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(SpannedNode(node)) = seq.next_element()? {
            items.push(node);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(SpannedNode(key)) = map.next_key()? {
            let SpannedNode(value) = map.next_value()?;
            entries.push((key, value));
        }
        Ok(Value::Map(entries))
    }
}
