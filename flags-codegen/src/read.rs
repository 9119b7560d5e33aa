//! From the YAML tree to the typed [`model`](crate::model): field names, types, required
//! fields and defaults. Every problem is recorded and reading goes on, so one compile shows
//! every mistake. Cross-field rules (naming, duplicates across flags, variants) are in
//! [`crate::validate`].

use std::collections::HashMap;

use crate::date::Date;
use crate::diagnostic::{Diagnostic, Pos, did_you_mean};
use crate::load::{Node, Value};
use crate::model::*;
use crate::naming::{DEFAULT_LIFECYCLES, DEFAULT_PATTERN};

const TOP_FIELDS: &[&str] = &["version", "naming", "lifetimes", "flags"];
const NAMING_FIELDS: &[&str] = &["lifecycles", "areas", "pattern", "segments"];
const FLAG_FIELDS: &[&str] = &[
    "description",
    "owner",
    "backup_owner",
    "tags",
    "default",
    "variants",
    "payloads",
    "created",
    "expires",
    "ticket",
    "rollback",
    "surfaces",
    "guardian",
    "archived",
    "lifecycle",
];
const GUARDIAN_FIELDS: &[&str] = &["enabled", "enforce", "alpha", "metrics"];
const METRIC_FIELDS: &[&str] = &["event", "success_property", "max_drop"];

/// Reads the registry from the document root. Returns `None` only when nothing usable is
/// left (the root is not a mapping); problems are pushed to `diags`.
pub fn read_registry(root: &Node, diags: &mut Vec<Diagnostic>) -> Option<Registry> {
    let mut r = Reader { diags };
    if root.value == Value::Null {
        r.diags.push(
            Diagnostic::error(root.pos, "the registry is empty")
                .with_code("empty-registry")
                .with_help("start with `naming:` (lifecycles and areas) and `flags:`; see the README's flags.yaml reference"),
        );
        return None;
    }
    let fields = r.fields(root, "the registry", TOP_FIELDS)?;

    let version = match fields.get("version") {
        Some(node) => match r.integer(node, "`version`") {
            Some(v) if v.value == i64::from(SCHEMA_VERSION) => SCHEMA_VERSION,
            Some(v) => {
                r.diags.push(
                    Diagnostic::error(v.pos, format!("unsupported schema version {}", v.value))
                        .with_code("unsupported-version")
                        .with_help(format!(
                            "this version of flags reads `version: {SCHEMA_VERSION}`"
                        )),
                );
                SCHEMA_VERSION
            }
            None => SCHEMA_VERSION,
        },
        None => SCHEMA_VERSION,
    };

    let naming = r.naming(fields.get("naming"), root.pos);
    let lifetimes = match fields.get("lifetimes") {
        Some(node) => r.lifetimes(node),
        None => default_lifetimes(),
    };

    let flags = match fields.get("flags") {
        None => {
            r.missing(
                root.pos,
                "flags",
                "the registry",
                "add `flags:` with at least one flag",
            );
            Vec::new()
        }
        Some(node) => {
            let flags = r.flags(node);
            if flags.is_empty()
                && r.diags.iter().all(|d| d.code != "duplicate-key")
                && matches!(node.value, Value::Map(_) | Value::Null)
            {
                r.diags.push(
                    Diagnostic::error(node.pos, "the registry has no flags")
                        .with_code("empty-registry")
                        .with_help("declare at least one flag under `flags:`, e.g. `release_<area>_<name>:` with description, owner and default"),
                );
            }
            flags
        }
    };

    Some(Registry {
        version,
        naming,
        lifetimes,
        flags,
    })
}

/// The lifetimes used when `lifetimes` is absent.
fn default_lifetimes() -> Vec<(Sp<String>, Lifetime)> {
    let p = Pos::new(0, 0);
    vec![
        (Sp::new("release".into(), p), Lifetime::Days(40)),
        (Sp::new("experiment".into(), p), Lifetime::Days(40)),
        (Sp::new("ops".into(), p), Lifetime::Days(7)),
        (Sp::new("tier".into(), p), Lifetime::Never),
    ]
}

/// The entries of a mapping, by field name.
struct Fields<'n> {
    entries: Vec<(&'n str, &'n Node)>,
    key_pos: Vec<Pos>,
}

impl<'n> Fields<'n> {
    fn get(&self, name: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
    }

    /// Where the field's name stands.
    fn key_pos(&self, name: &str) -> Option<Pos> {
        self.entries
            .iter()
            .position(|(k, _)| *k == name)
            .map(|i| self.key_pos[i])
    }
}

struct Reader<'d> {
    diags: &'d mut Vec<Diagnostic>,
}

impl Reader<'_> {
    fn wrong_type(&mut self, node: &Node, what: &str, expected: &str) {
        self.diags.push(
            Diagnostic::error(
                node.pos,
                format!(
                    "{what} must be {expected}, found {}",
                    node.value.type_name()
                ),
            )
            .with_code("wrong-type")
            .with_help(format!("write {what} as {expected}")),
        );
    }

    fn missing(&mut self, pos: Pos, field: &str, owner: &str, help: &str) {
        self.diags.push(
            Diagnostic::error(pos, format!("missing required field `{field}` in {owner}"))
                .with_code("missing-field")
                .with_help(help.to_string()),
        );
    }

    /// The mapping's entries; reports a non-mapping, non-string keys, duplicate and unknown
    /// fields (the first of two duplicates is kept).
    fn fields<'n>(&mut self, node: &'n Node, what: &str, allowed: &[&str]) -> Option<Fields<'n>> {
        let Value::Map(entries) = &node.value else {
            self.wrong_type(node, what, "a mapping");
            return None;
        };
        let mut out: Vec<(&str, &Node)> = Vec::new();
        let mut key_pos: Vec<Pos> = Vec::new();
        for (key, value) in entries {
            let Value::Str(name) = &key.value else {
                self.wrong_type(key, &format!("a field name in {what}"), "a string");
                continue;
            };
            if let Some(i) = out.iter().position(|(k, _)| k == name) {
                self.diags.push(
                    Diagnostic::error(key.pos, format!("duplicate field `{name}` in {what}"))
                        .with_code("duplicate-field")
                        .with_related(key_pos[i], "first defined here")
                        .with_help(format!("keep one `{name}`")),
                );
                continue;
            }
            if !allowed.contains(&name.as_str()) {
                let help = match did_you_mean(name, allowed.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("known fields: {}", allowed.join(", ")),
                };
                self.diags.push(
                    Diagnostic::error(key.pos, format!("unknown field `{name}` in {what}"))
                        .with_code("unknown-field")
                        .with_help(help),
                );
                continue;
            }
            out.push((name.as_str(), value));
            key_pos.push(key.pos);
        }
        Some(Fields {
            entries: out,
            key_pos,
        })
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<Sp<String>> {
        match &node.value {
            Value::Str(s) => Some(Sp::new(s.clone(), node.pos)),
            _ => {
                self.wrong_type(node, what, "a string");
                None
            }
        }
    }

    fn non_empty_string(&mut self, node: &Node, what: &str) -> Option<Sp<String>> {
        let s = self.string(node, what)?;
        if s.value.trim().is_empty() {
            self.diags.push(
                Diagnostic::error(node.pos, format!("{what} is empty"))
                    .with_code("empty-value")
                    .with_help(
                        "write a short sentence here, or remove the field if it is optional",
                    ),
            );
            return None;
        }
        Some(s)
    }

    fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
        match node.value {
            Value::Bool(b) => Some(b),
            _ => {
                self.wrong_type(node, what, "`true` or `false`");
                None
            }
        }
    }

    fn integer(&mut self, node: &Node, what: &str) -> Option<Sp<i64>> {
        match node.value {
            Value::Int(i) => Some(Sp::new(i, node.pos)),
            _ => {
                self.wrong_type(node, what, "an integer");
                None
            }
        }
    }

    fn fraction(&mut self, node: &Node, what: &str, open_low: bool) -> Option<f64> {
        let v = match node.value {
            Value::Float(f) => f,
            Value::Int(i) => i as f64,
            _ => {
                self.wrong_type(node, what, "a number between 0 and 1");
                return None;
            }
        };
        let ok = if open_low {
            v > 0.0 && v < 1.0
        } else {
            (0.0..=1.0).contains(&v)
        };
        if !ok {
            self.diags.push(
                Diagnostic::error(
                    node.pos,
                    format!("{what} must be between 0 and 1, found {v}"),
                )
                .with_code("out-of-range")
                .with_help(format!("write {what} as a fraction, e.g. 0.05 for 5%")),
            );
            return None;
        }
        Some(v)
    }

    fn string_list(&mut self, node: &Node, what: &str) -> Vec<Sp<String>> {
        match &node.value {
            Value::Seq(items) => items
                .iter()
                .filter_map(|item| self.non_empty_string(item, &format!("an item of {what}")))
                .collect(),
            Value::Null => Vec::new(),
            _ => {
                self.wrong_type(node, what, "a list of strings");
                Vec::new()
            }
        }
    }

    fn date(&mut self, node: &Node, what: &str) -> Option<Sp<Date>> {
        let s = self.string(node, what)?;
        match Date::parse(&s.value) {
            Ok(d) => Some(Sp::new(d, node.pos)),
            Err(msg) => {
                self.diags.push(
                    Diagnostic::error(node.pos, format!("{what}: {msg}"))
                        .with_code("bad-date")
                        .with_help("write dates as YYYY-MM-DD, e.g. 2027-01-31"),
                );
                None
            }
        }
    }

    fn naming(&mut self, node: Option<&Node>, root: Pos) -> Naming {
        let mut naming = Naming {
            pattern: Sp::new(DEFAULT_PATTERN.into(), Pos::new(0, 0)),
            lifecycles: DEFAULT_LIFECYCLES
                .iter()
                .map(|l| Sp::new((*l).to_string(), Pos::new(0, 0)))
                .collect(),
            areas: Vec::new(),
            segments: Vec::new(),
        };
        let Some(node) = node else {
            self.missing(
                root,
                "naming",
                "the registry",
                "add `naming:` with `areas: [...]` (and optionally `lifecycles`, `pattern`)",
            );
            return naming;
        };
        let Some(fields) = self.fields(node, "`naming`", NAMING_FIELDS) else {
            return naming;
        };
        if let Some(p) = fields
            .get("pattern")
            .and_then(|n| self.non_empty_string(n, "`naming.pattern`"))
        {
            naming.pattern = p;
        }
        if let Some(l) = fields.get("lifecycles") {
            naming.lifecycles = self.string_list(l, "`naming.lifecycles`");
        }
        match fields.get("areas") {
            Some(a) => naming.areas = self.string_list(a, "`naming.areas`"),
            None if naming.pattern.value.contains("{area}") => {
                self.missing(
                    node.pos,
                    "areas",
                    "`naming`",
                    "list the product areas, e.g. `areas: [studio, ai, billing]`",
                );
            }
            None => {}
        }
        if let Some(s) = fields.get("segments")
            && let Some(seg_fields) = self.map_entries(s, "`naming.segments`")
        {
            for (key, value) in seg_fields {
                let what = format!("`naming.segments.{}`", key.value);
                naming.segments.push((key, self.string_list(value, &what)));
            }
        }
        naming
    }

    /// A mapping with free-form string keys (flags, variants, segments, lifetimes, payloads):
    /// entries in order; duplicates reported and dropped.
    fn map_entries<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
    ) -> Option<Vec<(Sp<String>, &'n Node)>> {
        let Value::Map(entries) = &node.value else {
            if node.value == Value::Null {
                return Some(Vec::new());
            }
            self.wrong_type(node, what, "a mapping");
            return None;
        };
        let mut out: Vec<(Sp<String>, &Node)> = Vec::with_capacity(entries.len());
        // Where each key was first seen: a registry of 10,000 flags is one mapping.
        let mut first_seen: HashMap<String, Pos> = HashMap::with_capacity(entries.len());
        for (key, value) in entries {
            let name = match &key.value {
                Value::Str(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Int(i) => i.to_string(),
                _ => {
                    self.wrong_type(key, &format!("a key in {what}"), "a string");
                    continue;
                }
            };
            if let Some(first) = first_seen.get(&name) {
                self.diags.push(
                    Diagnostic::error(key.pos, format!("duplicate key `{name}` in {what}"))
                        .with_code("duplicate-key")
                        .with_related(*first, "first defined here")
                        .with_help(format!(
                            "each key appears once: rename or remove this `{name}`"
                        )),
                );
                continue;
            }
            first_seen.insert(name.clone(), key.pos);
            out.push((Sp::new(name, key.pos), value));
        }
        Some(out)
    }

    fn lifetimes(&mut self, node: &Node) -> Vec<(Sp<String>, Lifetime)> {
        let Some(entries) = self.map_entries(node, "`lifetimes`") else {
            return default_lifetimes();
        };
        let mut out = Vec::new();
        for (key, value) in entries {
            let what = format!("`lifetimes.{}`", key.value);
            let lifetime = match &value.value {
                Value::Int(d) if *d > 0 && *d <= i64::from(u32::MAX) => Lifetime::Days(*d as u32),
                Value::Str(s) if s == "never" => Lifetime::Never,
                _ => {
                    self.diags.push(
                        Diagnostic::error(
                            value.pos,
                            format!("{what} must be a positive number of days or `never`"),
                        )
                        .with_code("wrong-type")
                        .with_help("e.g. `release: 40` or `tier: never`"),
                    );
                    continue;
                }
            };
            out.push((key, lifetime));
        }
        out
    }

    fn flags(&mut self, node: &Node) -> Vec<Flag> {
        let Some(entries) = self.map_entries(node, "`flags`") else {
            return Vec::new();
        };
        entries
            .into_iter()
            .map(|(key, value)| self.flag(key, value))
            .collect()
    }

    fn flag(&mut self, key: Sp<String>, node: &Node) -> Flag {
        let what = format!("flag `{}`", key.value);
        let mut flag = Flag {
            key: key.clone(),
            ident: String::new(),
            emit: false,
            lifecycle: None,
            area: None,
            lifecycle_field: None,
            description: Sp::new(String::new(), key.pos),
            owner: Sp::new(String::new(), key.pos),
            backup_owner: None,
            tags: Vec::new(),
            default: None,
            variants: Vec::new(),
            variants_complete: true,
            variants_pos: None,
            payloads: Vec::new(),
            created: None,
            expires: None,
            ticket: None,
            rollback: None,
            surfaces: Vec::new(),
            guardian: None,
            archived: false,
        };
        let Some(fields) = self.fields(node, &what, FLAG_FIELDS) else {
            return flag;
        };
        match fields.get("description") {
            Some(n) => {
                if let Some(d) = self.non_empty_string(n, &format!("the description of {what}")) {
                    flag.description = d;
                }
            }
            None => self.missing(
                key.pos,
                "description",
                &what,
                "say what the flag gates, in one sentence: `description: ...`",
            ),
        }
        match fields.get("owner") {
            Some(n) => {
                if let Some(o) = self.owner(n, &format!("the owner of {what}")) {
                    flag.owner = o;
                }
            }
            None => self.missing(
                key.pos,
                "owner",
                &what,
                "name who answers for this flag: `owner: \"@handle\"` or an email",
            ),
        }
        flag.backup_owner = fields
            .get("backup_owner")
            .and_then(|n| self.owner(n, &format!("the backup owner of {what}")));
        if let Some(n) = fields.get("tags") {
            flag.tags = self.string_list(n, &format!("the tags of {what}"));
        }
        if let Some(n) = fields.get("surfaces") {
            flag.surfaces = self.string_list(n, &format!("the surfaces of {what}"));
        }
        if let Some(n) = fields.get("variants") {
            flag.variants_pos = fields.key_pos("variants");
            flag.variants = self.variants(n, &what);
            let declared = match &n.value {
                Value::Map(entries) => entries.len(),
                _ => 0,
            };
            flag.variants_complete = declared == flag.variants.len();
        }
        match fields.get("default") {
            Some(n) => flag.default = self.default(n, &flag, &what),
            None => {
                let help = if flag.is_multivariate() {
                    format!(
                        "add `default: {}` (the variant the app gets when PostHog cannot answer)",
                        flag.variants[0].key.value
                    )
                } else {
                    "add `default: false` (what the app gets when PostHog cannot answer)"
                        .to_string()
                };
                self.missing(key.pos, "default", &what, &help);
            }
        }
        if let Some(n) = fields.get("payloads") {
            flag.payloads = self.payloads(n, &what);
        }
        flag.created = fields
            .get("created")
            .and_then(|n| self.date(n, &format!("`created` of {what}")));
        flag.expires = fields
            .get("expires")
            .and_then(|n| self.date(n, &format!("`expires` of {what}")));
        flag.ticket = fields
            .get("ticket")
            .and_then(|n| self.non_empty_string(n, &format!("the ticket of {what}")));
        flag.rollback = fields
            .get("rollback")
            .and_then(|n| self.non_empty_string(n, &format!("the rollback of {what}")));
        flag.lifecycle_field = fields
            .get("lifecycle")
            .and_then(|n| self.non_empty_string(n, &format!("the lifecycle of {what}")));
        flag.archived = fields
            .get("archived")
            .and_then(|n| self.boolean(n, &format!("`archived` of {what}")))
            .unwrap_or(false);
        flag.guardian = fields.get("guardian").and_then(|n| self.guardian(n, &what));
        flag
    }

    fn owner(&mut self, node: &Node, what: &str) -> Option<Sp<String>> {
        let s = self.non_empty_string(node, what)?;
        if is_handle(&s.value) || is_email(&s.value) {
            return Some(s);
        }
        self.diags.push(
            Diagnostic::error(node.pos, format!("{what} `{}` is neither an @handle nor an email", s.value))
                .with_code("bad-owner")
                .with_help("write `\"@handle\"` (quoted: `@` cannot start a plain YAML value), `\"@org/team\"` or `name@example.com`"),
        );
        None
    }

    fn variants(&mut self, node: &Node, what: &str) -> Vec<Variant> {
        let Some(entries) = self.map_entries(node, &format!("the variants of {what}")) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, value) in entries {
            let vwhat = format!("the rollout of variant `{}`", key.value);
            let Some(pct) = self.integer(value, &vwhat) else {
                continue;
            };
            if !(0..=100).contains(&pct.value) {
                self.diags.push(
                    Diagnostic::error(
                        value.pos,
                        format!("{vwhat} must be between 0 and 100, found {}", pct.value),
                    )
                    .with_code("out-of-range")
                    .with_help("variant rollouts are whole percentages that sum to 100"),
                );
                continue;
            }
            out.push(Variant {
                key,
                ident: String::new(),
                rollout: Sp::new(pct.value as u32, pct.pos),
            });
        }
        out
    }

    fn default(&mut self, node: &Node, flag: &Flag, what: &str) -> Option<Sp<DefaultValue>> {
        if flag.variants_pos.is_some() {
            let Value::Str(s) = &node.value else {
                let first = flag
                    .variants
                    .first()
                    .map_or("control", |v| v.key.value.as_str());
                self.diags.push(
                    Diagnostic::error(node.pos, format!("the default of multivariate {what} must be one of its variants, found {}", node.value.type_name()))
                        .with_code("wrong-default")
                        .with_help(format!("write a variant key, e.g. `default: {first}`")),
                );
                return None;
            };
            if !flag.variants.iter().any(|v| &v.key.value == s) {
                let names: Vec<&str> = flag.variants.iter().map(|v| v.key.value.as_str()).collect();
                let help = match did_you_mean(s, names.iter().copied()) {
                    Some(m) => format!("did you mean `{m}`?"),
                    None => format!("declared variants: {}", names.join(", ")),
                };
                self.diags.push(
                    Diagnostic::error(
                        node.pos,
                        format!("the default `{s}` of {what} is not one of its variants"),
                    )
                    .with_code("wrong-default")
                    .with_help(help),
                );
                return None;
            }
            Some(Sp::new(DefaultValue::Variant(s.clone()), node.pos))
        } else {
            match node.value {
                Value::Bool(b) => Some(Sp::new(DefaultValue::Bool(b), node.pos)),
                _ => {
                    self.diags.push(
                        Diagnostic::error(node.pos, format!("the default of boolean {what} must be `true` or `false`, found {}", node.value.type_name()))
                            .with_code("wrong-default")
                            .with_help("write `default: false`, or declare `variants:` to make it multivariate"),
                    );
                    None
                }
            }
        }
    }

    fn payloads(&mut self, node: &Node, what: &str) -> Vec<Payload> {
        let Some(entries) = self.map_entries(node, &format!("the payloads of {what}")) else {
            return Vec::new();
        };
        entries
            .into_iter()
            .map(|(key, value)| Payload {
                key,
                json: to_json(value),
            })
            .collect()
    }

    fn guardian(&mut self, node: &Node, what: &str) -> Option<Guardian> {
        let mut g = Guardian {
            pos: node.pos,
            enabled: true,
            enforce: false,
            alpha: DEFAULT_ALPHA,
            metrics: Vec::new(),
        };
        if let Value::Bool(b) = node.value {
            g.enabled = b;
            return Some(g);
        }
        let gwhat = format!("the guardian of {what}");
        let fields = self.fields(node, &gwhat, GUARDIAN_FIELDS)?;
        if let Some(n) = fields.get("enabled") {
            g.enabled = self.boolean(n, "`guardian.enabled`").unwrap_or(true);
        }
        if let Some(n) = fields.get("enforce") {
            g.enforce = self.boolean(n, "`guardian.enforce`").unwrap_or(false);
        }
        if let Some(n) = fields.get("alpha") {
            g.alpha = self
                .fraction(n, "`guardian.alpha`", true)
                .unwrap_or(DEFAULT_ALPHA);
        }
        if let Some(n) = fields.get("metrics") {
            match &n.value {
                Value::Seq(items) => {
                    for item in items {
                        if let Some(m) = self.metric(item, &gwhat) {
                            g.metrics.push(m);
                        }
                    }
                }
                _ => self.wrong_type(n, "`guardian.metrics`", "a list of metrics"),
            }
        }
        Some(g)
    }

    fn metric(&mut self, node: &Node, gwhat: &str) -> Option<Metric> {
        let fields = self.fields(node, &format!("a metric of {gwhat}"), METRIC_FIELDS)?;
        let event = match fields.get("event") {
            Some(n) => self.non_empty_string(n, "`event` of a guardrail metric")?,
            None => {
                self.missing(
                    node.pos,
                    "event",
                    "a guardrail metric",
                    "name the event to watch: `event: checkout.completed`",
                );
                return None;
            }
        };
        let success_property = fields
            .get("success_property")
            .and_then(|n| self.non_empty_string(n, "`success_property` of a guardrail metric"));
        let max_drop = fields
            .get("max_drop")
            .and_then(|n| self.fraction(n, "`max_drop`", false))
            .unwrap_or(DEFAULT_MAX_DROP);
        Some(Metric {
            event,
            success_property,
            max_drop,
        })
    }
}

fn is_handle(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('@') else {
        return false;
    };
    let mut parts = rest.splitn(2, '/');
    parts.all(|p| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    })
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !s.chars().any(char::is_whitespace)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
}

/// Compact JSON text of a YAML value (mapping keys become strings).
pub fn to_json(node: &Node) -> String {
    let mut out = String::new();
    write_json(&node.value, &mut out);
    out
}

fn write_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) if f.is_finite() => out.push_str(&format!("{f:?}")),
        Value::Float(_) => out.push_str("null"),
        Value::Str(s) => write_json_string(s, out),
        Value::Seq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(&item.value, out);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let key = match &k.value {
                    Value::Str(s) => s.clone(),
                    other => {
                        let mut s = String::new();
                        write_json(other, &mut s);
                        s
                    }
                };
                write_json_string(&key, out);
                out.push(':');
                write_json(&v.value, out);
            }
            out.push('}');
        }
    }
}

fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}
