//! What an evaluation is about: the caller's distinct id, person properties, groups and device
//! id, borrowed for the duration of one call.
//!
//! Property maps ([`Properties`]) are built once per request (or per user) by the caller, so an
//! evaluation only reads them and never allocates.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::operators::{write_json_text, write_python_str};

/// One property value, as PostHog's SDKs see JSON values.
///
/// Arrays and objects keep their JSON value plus the canonical text the SDKs compare
/// against (`["a","b"]`, keys sorted), computed once when the value is built.
#[derive(Debug, Clone, PartialEq)]
pub enum PropertyValue {
    /// JSON `null` (Python `None`).
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer that fits `i64`.
    Int(i64),
    /// An integer above `i64::MAX`.
    UInt(u64),
    /// A number with a fraction or an exponent.
    Float(f64),
    /// A string.
    String(Box<str>),
    /// A JSON array or object.
    Json {
        /// The value itself.
        value: Value,
        /// Its canonical JSON text (the SDK's `_json_value_to_string`).
        text: Box<str>,
        /// Its Python `str()` (used by the semver and regex operators).
        python: Box<str>,
    },
}

impl PropertyValue {
    /// Converts a JSON value (numbers keep the integer/float distinction JSON text had).
    pub fn from_json(value: &Value) -> Self {
        match value {
            Value::Null => PropertyValue::Null,
            Value::Bool(b) => PropertyValue::Bool(*b),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    PropertyValue::Int(i)
                } else if let Some(u) = n.as_u64() {
                    PropertyValue::UInt(u)
                } else {
                    PropertyValue::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => PropertyValue::String(s.as_str().into()),
            Value::Array(_) | Value::Object(_) => {
                let mut text = String::new();
                let _ = write_json_text(&mut text, value);
                let mut python = String::new();
                let _ = write_python_str(&mut python, value);
                PropertyValue::Json {
                    value: value.clone(),
                    text: text.into(),
                    python: python.into(),
                }
            }
        }
    }

    /// The string, when this is a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            PropertyValue::String(s) => Some(s),
            _ => None,
        }
    }
}

impl From<&str> for PropertyValue {
    fn from(s: &str) -> Self {
        PropertyValue::String(s.into())
    }
}

impl From<String> for PropertyValue {
    fn from(s: String) -> Self {
        PropertyValue::String(s.into())
    }
}

impl From<bool> for PropertyValue {
    fn from(b: bool) -> Self {
        PropertyValue::Bool(b)
    }
}

impl From<i64> for PropertyValue {
    fn from(i: i64) -> Self {
        PropertyValue::Int(i)
    }
}

impl From<f64> for PropertyValue {
    fn from(f: f64) -> Self {
        PropertyValue::Float(f)
    }
}

impl From<&Value> for PropertyValue {
    fn from(v: &Value) -> Self {
        PropertyValue::from_json(v)
    }
}

/// A property map built once and read by many evaluations, laid out for lookups that touch
/// as little memory as possible: the keys' first eight bytes in one small sorted array
/// (searched first), the entries beside it (with the keys' next eight bytes and short
/// strings inline), longer keys and strings in one buffer. Lookups never allocate. A key
/// inserted twice keeps the last value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Properties {
    /// The first eight bytes of each key (see [`key_prefix`]), sorted: lookups search this
    /// small array first.
    prefixes: Prefixes,
    /// Parallel to `prefixes`.
    entries: Vec<Entry>,
    text: String,
    json: Vec<JsonValue>,
}

#[derive(Debug, Clone, PartialEq)]
struct JsonValue {
    value: Value,
    text: Box<str>,
    python: Box<str>,
}

/// Strings up to this many bytes live inside the entry itself.
const INLINE: usize = 14;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Slot {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Inline(u8, [u8; INLINE]),
    Str(u32, u32),
    Json(u32),
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    key: (u32, u32),
    /// Bytes 8..16 of the key (see [`KeyPrefix`]).
    second: u64,
    value: Slot,
}

/// Maps with at most this many keys keep their key prefixes inside the map value itself
/// (no pointer to follow, one cache miss less on a cold map).
const INLINE_KEYS: usize = 16;

/// The sorted key prefixes: inline for small maps, on the heap beyond.
#[derive(Debug, Clone, PartialEq)]
enum Prefixes {
    Inline(u8, [u64; INLINE_KEYS]),
    Heap(Vec<u64>),
}

impl Default for Prefixes {
    fn default() -> Self {
        Prefixes::Inline(0, [0; INLINE_KEYS])
    }
}

impl Prefixes {
    fn as_slice(&self) -> &[u64] {
        match self {
            Prefixes::Inline(n, words) => &words[..usize::from(*n).min(INLINE_KEYS)],
            Prefixes::Heap(v) => v,
        }
    }

    fn insert(&mut self, i: usize, p: u64) {
        match self {
            Prefixes::Inline(n, words) if usize::from(*n) < INLINE_KEYS => {
                let len = usize::from(*n);
                let i = i.min(len);
                words.copy_within(i..len, i + 1);
                words[i] = p;
                *n += 1;
            }
            Prefixes::Inline(..) => {
                let mut v = self.as_slice().to_vec();
                v.insert(i.min(v.len()), p);
                *self = Prefixes::Heap(v);
            }
            Prefixes::Heap(v) => v.insert(i.min(v.len()), p),
        }
    }
}

/// A key's first sixteen bytes as two big-endian, zero-padded words: comparing them (then
/// the length) orders keys of up to sixteen bytes as comparing their bytes does, without
/// reading the key text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct KeyPrefix {
    first: u64,
    second: u64,
}

fn be_word(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = bytes.len().min(8);
    b[..n].copy_from_slice(&bytes[..n]);
    u64::from_be_bytes(b)
}

/// The lookup prefix of `key`.
pub(crate) fn key_prefix(key: &str) -> KeyPrefix {
    let b = key.as_bytes();
    KeyPrefix {
        first: be_word(b),
        second: be_word(b.get(8..).unwrap_or(&[])),
    }
}

/// An empty property map, usable where a `&'static Properties` is needed.
pub static EMPTY_PROPERTIES: Properties = Properties {
    prefixes: Prefixes::Inline(0, [0; INLINE_KEYS]),
    entries: Vec::new(),
    text: String::new(),
    json: Vec::new(),
};

impl Properties {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a map from a JSON object (person or group properties as sent to PostHog).
    pub fn from_json_map(map: &Map<String, Value>) -> Self {
        let mut p = Properties::new();
        for (k, v) in map {
            p.insert(k.as_str(), PropertyValue::from_json(v));
        }
        p
    }

    /// Builds a map from a JSON value; anything but an object gives an empty map.
    pub fn from_json(value: &Value) -> Self {
        match value {
            Value::Object(map) => Self::from_json_map(map),
            _ => Self::new(),
        }
    }

    fn push_text(&mut self, s: &str) -> (u32, u32) {
        let start = self.text.len() as u32;
        self.text.push_str(s);
        (start, s.len() as u32)
    }

    fn str_at(&self, (start, len): (u32, u32)) -> &str {
        self.text
            .get(start as usize..(start as usize + len as usize))
            .unwrap_or("")
    }

    /// `Ok(index)` of `key`, or `Err(insertion point)`.
    fn find(&self, key: &str) -> Result<usize, usize> {
        self.find_prefixed(key, key_prefix(key))
    }

    /// [`Properties::find`] with the key's prefix already computed.
    fn find_prefixed(&self, key: &str, kp: KeyPrefix) -> Result<usize, usize> {
        let prefix = kp.first;
        // Small maps (the usual case): a linear scan of the prefixes, which the compiler
        // vectorizes; larger ones: binary search.
        let prefixes = self.prefixes.as_slice();
        let mut i = if prefixes.len() <= INLINE_KEYS {
            match prefixes.iter().position(|&p| p >= prefix) {
                Some(i) => i,
                None => return Err(prefixes.len()),
            }
        } else {
            prefixes.partition_point(|&p| p < prefix)
        };
        while i < prefixes.len() && prefixes[i] == prefix {
            let e = &self.entries[i];
            let k = e.key;
            // Keys of at most sixteen bytes are their prefix words plus their length.
            let ord = if key.len() <= 16 && k.1 as usize <= 16 {
                e.second
                    .cmp(&kp.second)
                    .then((k.1 as usize).cmp(&key.len()))
            } else {
                self.str_at(k).cmp(key)
            };
            match ord {
                std::cmp::Ordering::Equal => return Ok(i),
                std::cmp::Ordering::Greater => return Err(i),
                std::cmp::Ordering::Less => i += 1,
            }
        }
        Err(i)
    }

    /// Sets `key` to `value` (replacing an earlier value; the replaced text stays in the
    /// buffer until the map is dropped).
    pub fn insert(&mut self, key: impl AsRef<str>, value: impl Into<PropertyValue>) {
        let key = key.as_ref();
        let slot = match value.into() {
            PropertyValue::Null => Slot::Null,
            PropertyValue::Bool(b) => Slot::Bool(b),
            PropertyValue::Int(i) => Slot::Int(i),
            PropertyValue::UInt(u) => Slot::UInt(u),
            PropertyValue::Float(f) => Slot::Float(f),
            PropertyValue::String(s) if s.len() <= INLINE => {
                let mut b = [0u8; INLINE];
                b[..s.len()].copy_from_slice(s.as_bytes());
                Slot::Inline(s.len() as u8, b)
            }
            PropertyValue::String(s) => {
                let (a, b) = self.push_text(&s);
                Slot::Str(a, b)
            }
            PropertyValue::Json {
                value,
                text,
                python,
            } => {
                self.json.push(JsonValue {
                    value,
                    text,
                    python,
                });
                Slot::Json(self.json.len() as u32 - 1)
            }
        };
        match self.find(key) {
            Ok(i) => self.entries[i].value = slot,
            Err(i) => {
                let k = self.push_text(key);
                let kp = key_prefix(key);
                self.prefixes.insert(i, kp.first);
                self.entries.insert(
                    i,
                    Entry {
                        key: k,
                        second: kp.second,
                        value: slot,
                    },
                );
            }
        }
    }

    /// [`Properties::get`] with the key's prefix (from [`key_prefix`]) computed once.
    pub(crate) fn get_prefixed(&self, key: &str, prefix: KeyPrefix) -> Option<PropertyRef<'_>> {
        let i = self.find_prefixed(key, prefix).ok()?;
        Some(self.view(&self.entries[i].value))
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<PropertyRef<'_>> {
        let i = self.find(key).ok()?;
        Some(self.view(&self.entries[i].value))
    }

    fn view<'a>(&'a self, slot: &'a Slot) -> PropertyRef<'a> {
        match *slot {
            Slot::Null => PropertyRef::Null,
            Slot::Bool(b) => PropertyRef::Bool(b),
            Slot::Int(i) => PropertyRef::Int(i),
            Slot::UInt(u) => PropertyRef::UInt(u),
            Slot::Float(f) => PropertyRef::Float(f),
            Slot::Inline(len, _) => match slot {
                Slot::Inline(_, bytes) => PropertyRef::Str(
                    std::str::from_utf8(&bytes[..(len as usize).min(INLINE)]).unwrap_or(""),
                ),
                _ => PropertyRef::Null,
            },
            Slot::Str(a, b) => PropertyRef::Str(self.str_at((a, b))),
            Slot::Json(i) => match self.json.get(i as usize) {
                Some(j) => PropertyRef::Json {
                    value: &j.value,
                    text: &j.text,
                    python: &j.python,
                },
                None => PropertyRef::Null,
            },
        }
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Number of properties.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, PropertyRef<'_>)> {
        self.entries
            .iter()
            .map(|e| (self.str_at(e.key), self.view(&e.value)))
    }
}

impl<K: AsRef<str>, V: Into<PropertyValue>> FromIterator<(K, V)> for Properties {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut p = Properties::new();
        for (k, v) in iter {
            p.insert(k, v);
        }
        p
    }
}

/// A property value borrowed from a [`Properties`] map (or added by the SDK, such as
/// `distinct_id`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PropertyRef<'a> {
    /// JSON `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer that fits `i64`.
    Int(i64),
    /// An integer above `i64::MAX`.
    UInt(u64),
    /// A number with a fraction or an exponent.
    Float(f64),
    /// A string.
    Str(&'a str),
    /// An array or object.
    Json {
        /// The value.
        value: &'a Value,
        /// Its canonical JSON text.
        text: &'a str,
        /// Its Python `str()`.
        python: &'a str,
    },
}

/// One group the evaluated entity belongs to (B2B group analytics).
#[derive(Debug, Clone, Copy)]
pub struct Group<'a> {
    /// The group type name, e.g. `"organization"` (mapped to an index by the definitions'
    /// `group_type_mapping`).
    pub group_type: &'a str,
    /// The group key, e.g. `"org_42"`; group flags bucket by it.
    pub key: &'a str,
    /// The group's properties (the SDK adds `$group_key` itself).
    pub properties: &'a Properties,
}

impl<'a> Group<'a> {
    /// A group with properties.
    pub fn new(group_type: &'a str, key: &'a str, properties: &'a Properties) -> Self {
        Group {
            group_type,
            key,
            properties,
        }
    }
}

/// Everything one evaluation reads, borrowed from the caller.
#[derive(Debug, Clone, Copy)]
pub struct EvalContext<'a> {
    /// The distinct id being evaluated (bucketing value of person flags).
    pub distinct_id: &'a str,
    /// Person properties. The SDK adds `distinct_id` when the caller did not set it.
    pub person_properties: &'a Properties,
    /// Groups, by group type name.
    pub groups: &'a [Group<'a>],
    /// The device id, for flags that bucket by device.
    pub device_id: Option<&'a str>,
}

impl<'a> EvalContext<'a> {
    /// A context with a distinct id and person properties, no groups, no device id.
    pub fn new(distinct_id: &'a str, person_properties: &'a Properties) -> Self {
        EvalContext {
            distinct_id,
            person_properties,
            groups: &[],
            device_id: None,
        }
    }

    /// The same context with these groups.
    pub fn with_groups(mut self, groups: &'a [Group<'a>]) -> Self {
        self.groups = groups;
        self
    }

    /// The same context with a device id.
    pub fn with_device_id(mut self, device_id: &'a str) -> Self {
        self.device_id = Some(device_id);
        self
    }

    pub(crate) fn group(&self, group_type: &str) -> Option<&Group<'a>> {
        // The SDK keeps the last entry for a repeated group type (a dict).
        self.groups
            .iter()
            .rev()
            .find(|g| g.group_type == group_type)
    }
}

pub(crate) use PropertyRef as PropRef;

/// The property scope of one evaluation step: a map plus the one key the SDK adds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope<'a> {
    pub props: &'a Properties,
    pub extra_key: &'static str,
    pub extra_value: &'a str,
}

impl<'a> Scope<'a> {
    pub fn lookup_prefixed(&self, key: &str, prefix: KeyPrefix) -> Option<PropRef<'a>> {
        match self.props.get_prefixed(key, prefix) {
            Some(v) => Some(v),
            None if key == self.extra_key => Some(PropRef::Str(self.extra_value)),
            None => None,
        }
    }

    pub fn lookup(&self, key: &str) -> Option<PropRef<'a>> {
        match self.props.get(key) {
            Some(v) => Some(v),
            None if key == self.extra_key => Some(PropRef::Str(self.extra_value)),
            None => None,
        }
    }
}

/// A small fixed buffer for rendering numbers without allocating.
pub(crate) struct StackStr {
    buf: [u8; 32],
    len: usize,
}

impl StackStr {
    pub fn new() -> Self {
        StackStr {
            buf: [0; 32],
            len: 0,
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }
}

impl std::fmt::Write for StackStr {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let b = s.as_bytes();
        if self.len + b.len() > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
        Ok(())
    }
}

impl<'a> PropRef<'a> {
    /// The SDK's `_value_to_string`: strings as they are, everything else as canonical JSON.
    pub(crate) fn text<'b>(&self, buf: &'b mut StackStr) -> &'b str
    where
        'a: 'b,
    {
        self.render(buf, false)
    }

    /// Python's `str(value)`.
    pub(crate) fn python_str<'b>(&self, buf: &'b mut StackStr) -> &'b str
    where
        'a: 'b,
    {
        self.render(buf, true)
    }

    fn render<'b>(&self, buf: &'b mut StackStr, python: bool) -> &'b str
    where
        'a: 'b,
    {
        buf.clear();
        match *self {
            PropRef::Str(s) => s,
            PropRef::Json { python: p, .. } if python => p,
            PropRef::Json { text, .. } => text,
            PropRef::Null => ["null", "None"][usize::from(python)],
            PropRef::Bool(true) => ["true", "True"][usize::from(python)],
            PropRef::Bool(false) => ["false", "False"][usize::from(python)],
            PropRef::Int(i) => {
                let _ = write!(buf, "{i}");
                buf.as_str()
            }
            PropRef::UInt(u) => {
                let _ = write!(buf, "{u}");
                buf.as_str()
            }
            PropRef::Float(f) => {
                let _ = if python {
                    super::operators::write_python_float(buf, f)
                } else {
                    super::operators::write_json_float(buf, f)
                };
                buf.as_str()
            }
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self, PropRef::Null)
    }
}
