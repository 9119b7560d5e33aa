//! Value conversions and comparisons behind PostHog's property operators, with the exact
//! semantics of posthog-python's local evaluation (the reference SDK), none of them
//! allocating when used at evaluation time.

use std::fmt::{self, Write};

use serde_json::Value;

// ----------------------------------------------------------------------------------------
// Number formatting (Python's float repr, and the SDK's JSON rendering of floats)

/// Shortest round-trip decimal digits of a finite float: (negative, digits, exponent of the
/// first digit), e.g. 1.5e-7 → (false, "15", -7).
fn decompose(f: f64, digits: &mut super::context::StackStr) -> Option<(bool, i32)> {
    if !f.is_finite() {
        return None;
    }
    let mut sci = super::context::StackStr::new();
    write!(sci, "{:e}", f).ok()?;
    let s = sci.as_str();
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (mant, exp) = s.split_once('e')?;
    let exp: i32 = exp.parse().ok()?;
    digits.clear();
    for c in mant.chars().filter(|c| *c != '.') {
        digits.write_char(c).ok()?;
    }
    Some((neg, exp))
}

fn write_positional(w: &mut impl Write, neg: bool, digits: &str, exp: i32) -> fmt::Result {
    if neg {
        w.write_char('-')?;
    }
    let n = digits.len() as i32;
    if exp >= 0 {
        let int_len = exp + 1;
        if n <= int_len {
            w.write_str(digits)?;
            for _ in 0..(int_len - n) {
                w.write_char('0')?;
            }
            w.write_str(".0")
        } else {
            let (a, b) = digits.split_at(int_len as usize);
            w.write_str(a)?;
            w.write_char('.')?;
            w.write_str(b)
        }
    } else {
        w.write_str("0.")?;
        for _ in 0..(-exp - 1) {
            w.write_char('0')?;
        }
        w.write_str(digits)
    }
}

fn write_mantissa(w: &mut impl Write, neg: bool, digits: &str) -> fmt::Result {
    if neg {
        w.write_char('-')?;
    }
    let (a, b) = digits.split_at(1.min(digits.len()));
    w.write_str(a)?;
    if !b.is_empty() {
        w.write_char('.')?;
        w.write_str(b)?;
    }
    Ok(())
}

/// Python's `repr(float)` (also `str(float)`).
pub(crate) fn write_python_float(w: &mut impl Write, f: f64) -> fmt::Result {
    let mut digits = super::context::StackStr::new();
    let Some((neg, exp)) = decompose(f, &mut digits) else {
        return w.write_str(if f.is_nan() {
            "nan"
        } else if f > 0.0 {
            "inf"
        } else {
            "-inf"
        });
    };
    let digits = digits.as_str();
    if (-4..16).contains(&exp) {
        write_positional(w, neg, digits, exp)
    } else {
        write_mantissa(w, neg, digits)?;
        write!(w, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

/// The SDK's `_format_json_float`: Python's repr, but exponents `e-05` become positional
/// and others lose their zero padding (`1e+16`, `1.5e-7`).
pub(crate) fn write_json_float(w: &mut impl Write, f: f64) -> fmt::Result {
    let mut digits = super::context::StackStr::new();
    let Some((neg, exp)) = decompose(f, &mut digits) else {
        return Err(fmt::Error);
    };
    let digits = digits.as_str();
    if (-5..16).contains(&exp) {
        write_positional(w, neg, digits, exp)
    } else {
        write_mantissa(w, neg, digits)?;
        if exp >= 0 {
            write!(w, "e+{exp}")
        } else {
            write!(w, "e{exp}")
        }
    }
}

fn write_number_json(w: &mut impl Write, n: &serde_json::Number) -> fmt::Result {
    if let Some(i) = n.as_i64() {
        write!(w, "{i}")
    } else if let Some(u) = n.as_u64() {
        write!(w, "{u}")
    } else {
        write_json_float(w, n.as_f64().unwrap_or(f64::NAN))
    }
}

fn write_number_python(w: &mut impl Write, n: &serde_json::Number) -> fmt::Result {
    if let Some(i) = n.as_i64() {
        write!(w, "{i}")
    } else if let Some(u) = n.as_u64() {
        write!(w, "{u}")
    } else {
        write_python_float(w, n.as_f64().unwrap_or(f64::NAN))
    }
}

/// `json.dumps(s, ensure_ascii=False)`.
fn write_json_string(w: &mut impl Write, s: &str) -> fmt::Result {
    w.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => w.write_str("\\\"")?,
            '\\' => w.write_str("\\\\")?,
            '\n' => w.write_str("\\n")?,
            '\r' => w.write_str("\\r")?,
            '\t' => w.write_str("\\t")?,
            '\u{8}' => w.write_str("\\b")?,
            '\u{c}' => w.write_str("\\f")?,
            c if (c as u32) < 0x20 => write!(w, "\\u{:04x}", c as u32)?,
            c => w.write_char(c)?,
        }
    }
    w.write_char('"')
}

/// The SDK's `_json_value_to_string`: compact JSON, object keys sorted.
pub(crate) fn write_json_text(w: &mut impl Write, v: &Value) -> fmt::Result {
    json_text_at(w, v, 0)
}

/// Values nested deeper than this are not rendered (the text is cut short): stack safety.
const MAX_RENDER_DEPTH: usize = 256;

fn json_text_at(w: &mut impl Write, v: &Value, depth: usize) -> fmt::Result {
    if depth > MAX_RENDER_DEPTH {
        return Err(fmt::Error);
    }
    match v {
        Value::Null => w.write_str("null"),
        Value::Bool(b) => w.write_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number_json(w, n),
        Value::String(s) => write_json_string(w, s),
        Value::Array(items) => {
            w.write_char('[')?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    w.write_char(',')?;
                }
                json_text_at(w, item, depth + 1)?;
            }
            w.write_char(']')
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            w.write_char('{')?;
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    w.write_char(',')?;
                }
                write_json_string(w, k)?;
                w.write_char(':')?;
                if let Some(item) = map.get(k) {
                    json_text_at(w, item, depth + 1)?;
                }
            }
            w.write_char('}')
        }
    }
}

/// The SDK's `_value_to_string`: a string as it is, anything else as canonical JSON.
pub(crate) fn value_to_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => {
            let mut s = String::new();
            let _ = write_json_text(&mut s, other);
            s
        }
    }
}

fn write_python_repr_str(w: &mut impl Write, s: &str) -> fmt::Result {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    w.write_char(quote)?;
    for c in s.chars() {
        match c {
            '\\' => w.write_str("\\\\")?,
            '\n' => w.write_str("\\n")?,
            '\r' => w.write_str("\\r")?,
            '\t' => w.write_str("\\t")?,
            c if c == quote => {
                w.write_char('\\')?;
                w.write_char(c)?
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => write!(w, "\\x{:02x}", c as u32)?,
            c => w.write_char(c)?,
        }
    }
    w.write_char(quote)
}

fn write_python_repr(w: &mut impl Write, v: &Value, depth: usize) -> fmt::Result {
    match v {
        Value::String(s) => write_python_repr_str(w, s),
        other => python_str_at(w, other, depth),
    }
}

/// Python's `str(value)` of a JSON-decoded value.
pub(crate) fn write_python_str(w: &mut impl Write, v: &Value) -> fmt::Result {
    python_str_at(w, v, 0)
}

fn python_str_at(w: &mut impl Write, v: &Value, depth: usize) -> fmt::Result {
    if depth > MAX_RENDER_DEPTH {
        return Err(fmt::Error);
    }
    match v {
        Value::Null => w.write_str("None"),
        Value::Bool(b) => w.write_str(if *b { "True" } else { "False" }),
        Value::Number(n) => write_number_python(w, n),
        Value::String(s) => w.write_str(s),
        Value::Array(items) => {
            w.write_char('[')?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    w.write_str(", ")?;
                }
                write_python_repr(w, item, depth + 1)?;
            }
            w.write_char(']')
        }
        Value::Object(map) => {
            w.write_char('{')?;
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    w.write_str(", ")?;
                }
                write_python_repr_str(w, k)?;
                w.write_str(": ")?;
                write_python_repr(w, item, depth + 1)?;
            }
            w.write_char('}')
        }
    }
}

/// Python's `str(value)` as an owned string (compile time only).
pub(crate) fn python_str(v: &Value) -> String {
    let mut s = String::new();
    let _ = write_python_str(&mut s, v);
    s
}

// ----------------------------------------------------------------------------------------
// Numbers

/// `[+-]?(digits(.digits*)?|.digits)([eE][+-]?digits)?`, the SDK's numeric-string pattern.
fn is_numeric_string(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    if int_digits > 0 {
        if i < b.len() && b[i] == b'.' {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
    } else {
        if i >= b.len() || b[i] != b'.' {
            return false;
        }
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == frac_start {
            return false;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return false;
        }
    }
    i == b.len()
}

/// The SDK's `_parse_numeric_value` for a string: `None` unless it is a finite number.
pub(crate) fn parse_numeric_str(s: &str) -> Option<f64> {
    if !is_numeric_string(s) {
        return None;
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// The SDK's `_parse_numeric_value` for a JSON value.
pub(crate) fn parse_numeric_json(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64().filter(|f| f.is_finite()),
        Value::String(s) => parse_numeric_str(s),
        _ => None,
    }
}

// ----------------------------------------------------------------------------------------
// Strings

/// Whether `text.lower() == lowered` (Python's Unicode lowercasing), `lowered` being already
/// lowercased with `str::to_lowercase`.
pub(crate) fn eq_lower(text: &str, lowered: &str) -> bool {
    if text.is_ascii() {
        return text.len() == lowered.len()
            && text
                .bytes()
                .zip(lowered.bytes())
                .all(|(a, b)| a.to_ascii_lowercase() == b);
    }
    let mut a = text.chars().flat_map(char::to_lowercase);
    let mut b = lowered.chars();
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x == y => {}
            (Some('σ'), Some('ς')) => {}
            _ => return false,
        }
    }
}

/// Python's `value.lower() == "true"`.
pub(crate) fn is_true_string(s: &str) -> bool {
    eq_lower(s, "true")
}

/// Python's `value.lower() in ("true", "false")`.
pub(crate) fn is_bool_string(s: &str) -> bool {
    eq_lower(s, "true") || eq_lower(s, "false")
}

/// ASCII-only lowercase containment (the SDK's `_ascii_lower` then `in`).
pub(crate) fn ascii_icontains(hay: &str, needle_lower: &str) -> bool {
    let h = hay.as_bytes();
    let n = needle_lower.as_bytes();
    if n.is_empty() {
        return true;
    }
    if n.len() > h.len() {
        return false;
    }
    h.windows(n.len())
        .any(|w| w.iter().zip(n).all(|(a, b)| a.to_ascii_lowercase() == *b))
}

/// ASCII-only lowercase `startswith`.
pub(crate) fn ascii_istarts(hay: &str, needle_lower: &str) -> bool {
    let h = hay.as_bytes();
    let n = needle_lower.as_bytes();
    n.len() <= h.len()
        && h[..n.len()]
            .iter()
            .zip(n)
            .all(|(a, b)| a.to_ascii_lowercase() == *b)
}

/// ASCII-only lowercase `endswith`.
pub(crate) fn ascii_iends(hay: &str, needle_lower: &str) -> bool {
    let h = hay.as_bytes();
    let n = needle_lower.as_bytes();
    n.len() <= h.len()
        && h[h.len() - n.len()..]
            .iter()
            .zip(n)
            .all(|(a, b)| a.to_ascii_lowercase() == *b)
}

/// The SDK's `_is_truthy_property_value` on JSON.
pub(crate) fn json_truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => is_true_string(s),
        Value::Array(items) => items.iter().all(json_truthy),
        _ => false,
    }
}

/// The SDK's `_is_truthy_or_falsy_property_value` on JSON.
pub(crate) fn json_truthy_or_falsy(v: &Value) -> bool {
    match v {
        Value::Bool(_) => true,
        Value::String(s) => is_bool_string(s),
        Value::Array(items) => items.iter().all(json_truthy_or_falsy),
        _ => false,
    }
}

// ----------------------------------------------------------------------------------------
// Semver

/// A version as the SDK compares it: (major, minor, patch).
pub(crate) type Semver = (u64, u64, u64);

fn semver_number(part: &str) -> Option<u64> {
    let b = part.as_bytes();
    if b.is_empty() || (b.len() > 1 && b[0] == b'0') {
        return None;
    }
    let mut v: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(v)
}

/// The SDK's `parse_semver` (over Python's `str(value)`): trims, drops leading `v`s and any
/// pre-release or build suffix, missing parts are 0, extra parts ignored, no leading zeros.
pub(crate) fn parse_semver(text: &str) -> Option<Semver> {
    let t = py_strip(text).trim_start_matches(['v', 'V']);
    // Everything before the first '-' (pre-release) or '+' (build).
    let t = match t.bytes().position(|b| b == b'-' || b == b'+') {
        Some(i) => t.get(..i).unwrap_or(""),
        None => t,
    };
    let mut parts = t.split('.');
    let major = semver_number(parts.next().unwrap_or(""))?;
    let minor = match parts.next() {
        Some(p) if !p.is_empty() => semver_number(p)?,
        _ => 0,
    };
    let patch = match parts.next() {
        Some(p) if !p.is_empty() => semver_number(p)?,
        _ => 0,
    };
    Some((major, minor, patch))
}

/// `~1.2.3`: `>=1.2.3 <1.3.0`.
pub(crate) fn tilde_bounds(text: &str) -> Option<(Semver, Semver)> {
    let (a, b, c) = parse_semver(text)?;
    Some(((a, b, c), (a, b.checked_add(1)?, 0)))
}

/// `^1.2.3`: `>=1.2.3 <2.0.0`; `^0.2.3`: `<0.3.0`; `^0.0.3`: `<0.0.4`.
pub(crate) fn caret_bounds(text: &str) -> Option<(Semver, Semver)> {
    let (a, b, c) = parse_semver(text)?;
    let upper = if a > 0 {
        (a.checked_add(1)?, 0, 0)
    } else if b > 0 {
        (0, b.checked_add(1)?, 0)
    } else {
        (0, 0, c.checked_add(1)?)
    };
    Some(((a, b, c), upper))
}

/// `1.*`: `>=1.0.0 <2.0.0`; `1.2.*`: `>=1.2.0 <1.3.0`.
pub(crate) fn wildcard_bounds(text: &str) -> Option<(Semver, Semver)> {
    let cleaned: String = py_strip(text)
        .trim_start_matches(['v', 'V'])
        .replace('*', "");
    let cleaned = cleaned.trim_end_matches('.');
    let parts: Vec<&str> = cleaned.split('.').filter(|p| !p.is_empty()).collect();
    match parts.as_slice() {
        [] => None,
        [a] => {
            let a = semver_number(a)?;
            Some(((a, 0, 0), (a.checked_add(1)?, 0, 0)))
        }
        [a, b] => {
            let (a, b) = (semver_number(a)?, semver_number(b)?);
            Some(((a, b, 0), (a, b.checked_add(1)?, 0)))
        }
        [a, b, c, ..] => {
            let (a, b, c) = (semver_number(a)?, semver_number(b)?, semver_number(c)?);
            Some(((a, b, c), (a, b, c.checked_add(1)?)))
        }
    }
}

// ----------------------------------------------------------------------------------------
// Dates (as microseconds since the Unix epoch, UTC)

// Civil-date arithmetic lives once, in flags-codegen.
pub(crate) use flags_codegen::date::{civil_from_days, days_from_civil};

pub(crate) fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Now, in microseconds since the epoch.
pub(crate) fn now_micros() -> i64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_micros() as i64,
        Err(_) => 0,
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, n: usize) -> Option<u32> {
        if self.i + n > self.b.len() {
            return None;
        }
        let mut v = 0u32;
        for k in 0..n {
            let c = self.b[self.i + k];
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + (c - b'0') as u32;
        }
        self.i += n;
        Some(v)
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn done(&self) -> bool {
        self.i == self.b.len()
    }
}

/// Parses `HH[:MM[:SS[.ffffff]]]` or `HHMM[SS]`; returns microseconds of day.
fn parse_time(c: &mut Cursor<'_>) -> Option<i64> {
    let h = c.digits(2)?;
    let (mut m, mut s, mut us) = (0, 0, 0i64);
    if c.eat(b':') {
        m = c.digits(2)?;
        if c.eat(b':') {
            s = c.digits(2)?;
            us = parse_fraction(c)?;
        }
    } else if c.peek().is_some_and(|b| b.is_ascii_digit()) {
        m = c.digits(2)?;
        if c.peek().is_some_and(|b| b.is_ascii_digit()) {
            s = c.digits(2)?;
            us = parse_fraction(c)?;
        }
    }
    if h > 23 || m > 59 || s > 59 {
        return None;
    }
    Some(((h as i64 * 60 + m as i64) * 60 + s as i64) * 1_000_000 + us)
}

fn parse_fraction(c: &mut Cursor<'_>) -> Option<i64> {
    if !(c.eat(b'.') || c.eat(b',')) {
        return Some(0);
    }
    let start = c.i;
    let mut us = 0i64;
    while let Some(b) = c.peek() {
        if !b.is_ascii_digit() {
            break;
        }
        if c.i - start < 6 {
            us = us * 10 + (b - b'0') as i64;
        }
        c.i += 1;
    }
    let n = c.i - start;
    if n == 0 {
        return None;
    }
    for _ in n..6 {
        us *= 10;
    }
    Some(us)
}

/// Parses a UTC offset (`Z`, `±HH`, `±HH:MM`, `±HHMM`, `±HH:MM:SS`), in microseconds.
fn parse_offset(c: &mut Cursor<'_>) -> Option<i64> {
    if c.eat(b'Z') {
        return Some(0);
    }
    let sign = if c.eat(b'+') {
        1
    } else if c.eat(b'-') {
        -1
    } else {
        return None;
    };
    let h = c.digits(2)?;
    let mut m = 0;
    let mut s = 0;
    if c.eat(b':') {
        m = c.digits(2)?;
        if c.eat(b':') {
            s = c.digits(2)?;
        }
    } else if !c.done() {
        m = c.digits(2)?;
        if !c.done() {
            s = c.digits(2)?;
        }
    }
    let us = parse_fraction(c)?;
    if h > 23 || m > 59 || s > 59 {
        return None;
    }
    Some(sign * ((((h as i64 * 60) + m as i64) * 60 + s as i64) * 1_000_000 + us))
}

/// Python's `str.strip()`: Unicode whitespace, plus the separators U+001C..U+001F that
/// Python counts as whitespace and Rust does not.
pub(crate) fn py_strip(text: &str) -> &str {
    let b = text.as_bytes();
    // Fast path: nothing to strip when both ends are ASCII and not space-like.
    let plain = |c: u8| {
        c.is_ascii() && !c.is_ascii_whitespace() && !(0x1c..=0x1f).contains(&c) && c != 0x0b
    };
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) if plain(f) && plain(l) => text,
        _ => text.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)),
    }
}

/// Whether `parse_datetime` needs the clock for this text (a bare 4-digit year).
pub(crate) fn is_bare_year(text: &str) -> bool {
    let t = py_strip(text);
    t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit())
}

/// The SDK's `parse_datetime` + `convert_to_datetime_aware` (Python 3.11's
/// `datetime.fromisoformat` for the common ISO 8601 shapes), as epoch microseconds UTC.
/// `now` is only read for a bare 4-digit year (which Python completes with today's month
/// and day).
pub(crate) fn parse_datetime(text: &str, now: impl FnOnce() -> i64) -> Option<i64> {
    let t = py_strip(text);
    // A trailing " UTC" (any case) or "Z" means +00:00.
    let (t, forced_utc) = if let Some(rest) = t.strip_suffix('Z') {
        (rest, true)
    } else if t.len() >= 4
        && t.is_char_boundary(t.len() - 4)
        && t[t.len() - 4..].eq_ignore_ascii_case(" utc")
    {
        (&t[..t.len() - 4], true)
    } else {
        (t, false)
    };
    let b = t.as_bytes();
    if !forced_utc && b.len() == 4 && b.iter().all(u8::is_ascii_digit) {
        let year: i64 = t.parse().ok()?;
        let (_, m, d) = civil_from_days(now().div_euclid(MICROS_PER_DAY));
        if year < 1 || d > days_in_month(year, m) {
            return None;
        }
        return Some(days_from_civil(year, m, d) * MICROS_PER_DAY);
    }
    let mut c = Cursor { b, i: 0 };
    let year = c.digits(4)? as i64;
    let extended = c.eat(b'-');
    let days = if c.eat(b'W') {
        // ISO week date: YYYY-Www[-D] or YYYYWww[D].
        let week = c.digits(2)?;
        let weekday = if (extended && c.eat(b'-'))
            || (!extended && c.peek().is_some_and(|b| b.is_ascii_digit()))
        {
            c.digits(1)?
        } else {
            1
        };
        iso_week_to_days(year, week, weekday)?
    } else {
        let (month, day) = if extended {
            let m = c.digits(2)?;
            if !c.eat(b'-') {
                return None;
            }
            (m, c.digits(2)?)
        } else {
            (c.digits(2)?, c.digits(2)?)
        };
        if year < 1 || !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        days_from_civil(year, month, day)
    };
    let mut micros = days * MICROS_PER_DAY;
    let mut offset = 0;
    if !c.done() {
        // Any single character separates date and time.
        let rest = &t[c.i..];
        let sep_len = rest.chars().next().map_or(1, char::len_utf8);
        c.i += sep_len;
        micros += parse_time(&mut c)?;
        // "2024-01-01 10:00 +05:00": a space before the offset is dropped.
        if c.peek() == Some(b' ') && matches!(c.b.get(c.i + 1), Some(b'+' | b'-')) {
            c.i += 1;
        }
        if !c.done() {
            if forced_utc {
                return None;
            }
            offset = parse_offset(&mut c)?;
            if !c.done() {
                return None;
            }
        }
    }
    Some(micros - offset)
}

/// ISO weekday (Monday 1 … Sunday 7) of a day count since 1970-01-01 (a Thursday).
fn iso_weekday(days: i64) -> i64 {
    (days + 3).rem_euclid(7) + 1
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Days since 1970-01-01 of ISO week `week`, day `weekday`, of ISO year `year` (Python's
/// `date.fromisocalendar` rules: week 53 only in years that have one).
fn iso_week_to_days(year: i64, week: u32, weekday: u32) -> Option<i64> {
    if !(1..=9999).contains(&year) || !(1..=7).contains(&weekday) {
        return None;
    }
    let jan1 = iso_weekday(days_from_civil(year, 1, 1));
    let weeks = if jan1 == 4 || (jan1 == 3 && is_leap(year)) {
        53
    } else {
        52
    };
    if week < 1 || week > weeks {
        return None;
    }
    let jan4 = days_from_civil(year, 1, 4);
    let monday1 = jan4 - (iso_weekday(jan4) - 1);
    Some(monday1 + (i64::from(week) - 1) * 7 + i64::from(weekday) - 1)
}

/// A relative date filter (`-30d`, `12w`, …): unit and count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RelUnit {
    Hour,
    Day,
    Week,
    Month,
    Year,
}

/// The SDK's `relative_date_parse_for_feature_flag_matching` syntax check: `-?<n><unit>`,
/// n < 10,000. `None` when the text is not relative (or out of range).
pub(crate) fn parse_relative(text: &str) -> Option<(i64, RelUnit)> {
    let t = text.strip_suffix('\n').unwrap_or(text);
    let t = t.strip_prefix('-').unwrap_or(t);
    let (idx, _) = t.char_indices().next_back()?;
    let (num, unit) = t.split_at(idx);
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let unit = match unit {
        "h" => RelUnit::Hour,
        "d" => RelUnit::Day,
        "w" => RelUnit::Week,
        "m" => RelUnit::Month,
        "y" => RelUnit::Year,
        _ => return None,
    };
    let n: i64 = num.parse().ok()?;
    if n >= 10_000 {
        return None;
    }
    Some((n, unit))
}

/// Now minus a relative interval, calendar-aware for months and years (days clamp).
pub(crate) fn relative_to_micros(n: i64, unit: RelUnit, now: i64) -> Option<i64> {
    match unit {
        RelUnit::Hour => Some(now - n * 3_600_000_000),
        RelUnit::Day => Some(now - n * MICROS_PER_DAY),
        RelUnit::Week => Some(now - n * 7 * MICROS_PER_DAY),
        RelUnit::Month | RelUnit::Year => {
            let days = now.div_euclid(MICROS_PER_DAY);
            let tod = now.rem_euclid(MICROS_PER_DAY);
            let (y, m, d) = civil_from_days(days);
            let months = if unit == RelUnit::Year { n * 12 } else { n };
            let idx = y * 12 + m as i64 - 1 - months;
            let ny = idx.div_euclid(12);
            let nm = (idx.rem_euclid(12) + 1) as u32;
            if !(1..=9999).contains(&ny) {
                return None;
            }
            let nd = if unit == RelUnit::Year {
                if n > 0 && m == 2 && d == 29 { 28 } else { d }
            } else {
                // Step one month at a time, clamping: the minimum month length seen.
                let mut day = d;
                let cur = y * 12 + m as i64 - 1;
                let mut k = cur - 1;
                while k >= idx && day > 28 {
                    day = day.min(days_in_month(
                        k.div_euclid(12),
                        (k.rem_euclid(12) + 1) as u32,
                    ));
                    k -= 1;
                }
                day
            };
            let nd = nd.min(days_in_month(ny, nm));
            Some(days_from_civil(ny, nm, nd) * MICROS_PER_DAY + tod)
        }
    }
}

// ----------------------------------------------------------------------------------------
// Regex: which patterns local evaluation may run (the SDK defers the rest to the server)

/// What the SDK's regex pre-scan found out about a pattern.
#[derive(Debug, Clone)]
pub(crate) struct RegexScan {
    /// The pattern to compile with Rust's `regex` (`[\b]` made explicit).
    pub rust_pattern: String,
    pub uses_word_class: bool,
    pub uses_space_class: bool,
    pub uses_end_anchor: bool,
    pub uses_quantifier_or_alternation: bool,
    /// Python's `re` rejects the pattern ("nothing to repeat", "multiple repeat") where
    /// Rust's `regex` would accept it: the SDK then never matches.
    pub python_invalid: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Prev {
    Nothing,
    Literal,
    Open,
    /// After a repetition; `true` while a lazy `?` may still follow.
    Quantifier(bool),
    EmptyGroup,
    Char(char),
}

/// Scans a pattern the way posthog-python does before running it. `None` means the SDK
/// defers the pattern to the server (inconclusive, unsupported definition).
pub(crate) fn scan_regex(pattern: &str) -> Option<RegexScan> {
    let p: Vec<char> = pattern.chars().collect();
    let n = p.len();
    let at = |i: usize| p.get(i).copied();
    let mut out = String::with_capacity(pattern.len());
    let mut class_start: Option<usize> = None;
    let mut prev = Prev::Nothing;
    let mut groups: Vec<bool> = Vec::new();
    let mut closed_has_quant = false;
    let mut s = RegexScan {
        rust_pattern: String::new(),
        uses_word_class: false,
        uses_space_class: false,
        uses_end_anchor: false,
        uses_quantifier_or_alternation: false,
        python_invalid: false,
    };
    let mut i = 0;
    while i < n {
        let c = p[i];
        if class_start.is_none() {
            s.uses_end_anchor |= c == '$';
            s.uses_quantifier_or_alternation |= matches!(c, '*' | '+' | '?' | '{' | '|');
            match c {
                '(' => groups.push(false),
                ')' => {
                    closed_has_quant = groups.pop().unwrap_or(false);
                    if let Some(last) = groups.last_mut() {
                        *last |= closed_has_quant;
                    }
                }
                '*' | '+' | '?' | '{' => {
                    if prev == Prev::Char(')') && closed_has_quant {
                        return None;
                    }
                    if let Some(last) = groups.last_mut() {
                        *last = true;
                    }
                }
                _ => {}
            }
        }
        if c == '\\' {
            i += 1;
            let Some(e) = at(i) else {
                out.push('\\');
                break;
            };
            if e == 'x' {
                let (a, b) = (at(i + 1)?, at(i + 2)?);
                if !a.is_ascii_hexdigit() || !b.is_ascii_hexdigit() {
                    return None;
                }
                out.push_str("\\x");
                out.push(a);
                out.push(b);
                i += 2;
                prev = Prev::Literal;
                i += 1;
                continue;
            }
            let in_class = class_start.is_some();
            if matches!(e, 'b' | 'B' | '<' | '>') && !in_class {
                return None;
            }
            if !"dDsSwWbfnrt".contains(e) {
                let printable_punct = (0x20..=0x7e).contains(&(e as u32)) && !e.is_alphanumeric();
                if !printable_punct {
                    return None;
                }
                if in_class && !"\\-[]^.$*+?(){}|".contains(e) {
                    return None;
                }
            }
            s.uses_word_class |= matches!(e, 'w' | 'W');
            s.uses_space_class |= matches!(e, 's' | 'S');
            if e == 'b' {
                out.push_str("\\x08");
            } else {
                out.push('\\');
                out.push(e);
            }
            prev = Prev::Literal;
        } else if c == '[' {
            if class_start.is_some() {
                return None;
            }
            class_start = Some(i);
            out.push(c);
        } else if c == ']' && class_start.is_some() {
            let start = class_start.unwrap_or(0);
            let content = start + if at(start + 1) == Some('^') { 2 } else { 1 };
            if i == content {
                return None;
            }
            class_start = None;
            prev = Prev::Literal;
            out.push(c);
        } else if class_start.is_some() {
            let pair = (c, at(i + 1));
            if matches!(pair, ('&', Some('&')) | ('-', Some('-')) | ('~', Some('~'))) {
                return None;
            }
            if c == '-' && i + 1 < n && p[i + 1] != ']' {
                let next_is_shorthand =
                    at(i + 1) == Some('\\') && at(i + 2).is_some_and(|e| "dDsSwW".contains(e));
                let prev_is_shorthand = i >= 2 && p[i - 2] == '\\' && "dDsSwW".contains(p[i - 1]);
                if next_is_shorthand || prev_is_shorthand {
                    return None;
                }
            }
            out.push(c);
        } else if c == '(' && at(i + 1) == Some('?') {
            if at(i + 2) != Some(':') {
                return None;
            }
            out.push_str("(?:");
            i += 2;
            prev = Prev::Open;
        } else if c == '{' {
            // \{([0-9]+)(?:,([0-9]*))?\}
            let mut j = i + 1;
            let a_start = j;
            while at(j).is_some_and(|d| d.is_ascii_digit()) {
                j += 1;
            }
            if j == a_start {
                return None;
            }
            let a_len = j - a_start;
            let mut b_len = 0;
            let mut b_start = j;
            if at(j) == Some(',') {
                j += 1;
                b_start = j;
                while at(j).is_some_and(|d| d.is_ascii_digit()) {
                    j += 1;
                }
                b_len = j - b_start;
            }
            if at(j) != Some('}') {
                return None;
            }
            if matches!(
                prev,
                Prev::Nothing
                    | Prev::Char('|')
                    | Prev::Open
                    | Prev::Char('(')
                    | Prev::Char('^')
                    | Prev::Char('$')
                    | Prev::EmptyGroup
                    | Prev::Quantifier(_)
            ) {
                return None;
            }
            for (st, len) in [(a_start, a_len), (b_start, b_len)] {
                if len == 0 {
                    continue;
                }
                if len > 10 {
                    return None;
                }
                let num: String = p[st..st + len].iter().collect();
                if num.parse::<u64>().map_or(true, |v| v > 0xFFFF_FFFF) {
                    return None;
                }
            }
            let piece: String = p[i..=j].iter().collect();
            out.push_str(&piece);
            i = j;
            if matches!(at(i + 1), Some('+' | '{')) {
                return None;
            }
            prev = Prev::Quantifier(true);
        } else if matches!(c, '*' | '+' | '?') {
            if matches!(prev, Prev::Char('^') | Prev::Char('$') | Prev::EmptyGroup)
                || matches!(at(i + 1), Some('+' | '{'))
            {
                return None;
            }
            prev = match prev {
                Prev::Quantifier(true) if c == '?' => Prev::Quantifier(false),
                Prev::Quantifier(_) => {
                    s.python_invalid = true;
                    Prev::Quantifier(false)
                }
                Prev::Nothing | Prev::Open | Prev::Char('(') | Prev::Char('|') => {
                    s.python_invalid = true;
                    Prev::Quantifier(true)
                }
                _ => Prev::Quantifier(true),
            };
            out.push(c);
        } else {
            prev = if c == ')' && matches!(prev, Prev::Open | Prev::Char('(') | Prev::EmptyGroup) {
                Prev::EmptyGroup
            } else {
                Prev::Char(c)
            };
            out.push(c);
        }
        i += 1;
    }
    s.rust_pattern = out;
    Some(s)
}

/// Finds a character outside ASCII that is neither a letter nor a decimal digit (Python's
/// `isalpha() or isdecimal()`): where Rust's and Python's `\w` disagree.
pub(crate) fn non_word_checker() -> Option<regex::Regex> {
    regex::Regex::new(r"[^\x00-\x7F\p{L}\p{Nd}]").ok()
}
