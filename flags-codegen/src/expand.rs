//! Code generation: the validated model to Rust tokens.
//!
//! Output is deterministic (file order, no hash maps) and refers to runtime types by full
//! path (`::flags_runtime::…` unless the caller re-points it). Only flags whose identifiers are
//! valid are emitted, so after an error the rest of the registry still exists and the user
//! sees one error instead of a cascade.

use std::fmt::Write as _;

use proc_macro2::{Literal, Span, TokenStream};
use quote::{ToTokens, quote};

use crate::model::{DefaultValue, Flag, Lifetime, Registry};
use crate::naming::identifier_problem;

/// How to expand.
#[derive(Debug, Clone)]
pub struct ExpandOptions {
    /// The path of the runtime crate in generated code (default `::flags_runtime`).
    pub runtime: TokenStream,
    /// The absolute path of the yaml file, for `include_bytes!` (rebuild on change);
    /// `None` for inline sources.
    pub include_path: Option<String>,
    /// How the file is named in diagnostics and in `Registry::source` (e.g. `flags.yaml`).
    pub source_name: String,
}

impl Default for ExpandOptions {
    fn default() -> Self {
        ExpandOptions {
            runtime: quote!(::flags_runtime),
            include_path: None,
            source_name: "flags.yaml".into(),
        }
    }
}

fn valid_ident(name: &str) -> bool {
    identifier_problem(name).is_none()
}

/// Whether a flag can be emitted: validation kept it, and its type (and variant enum) names are
/// Rust identifiers. Flags that cannot are left out everywhere (struct, `Flag`, `REGISTRY`), so
/// their error is reported once, at the yaml line, without a cascade.
fn usable(f: &Flag) -> bool {
    f.emit
        && valid_ident(&f.ident)
        && (!f.is_multivariate()
            || (valid_ident(&f.variant_ident())
                && f.variants.iter().all(|v| valid_ident(&v.ident))))
}

/// A Rust string literal for `text`.
fn lit(out: &mut String, text: &str) {
    let _ = write!(out, "{text:?}");
}

/// `[]` or `["text"]`.
fn opt(out: &mut String, value: Option<&str>) {
    out.push('[');
    if let Some(v) = value {
        lit(out, v);
    }
    out.push(']');
}

/// `["a" "b" …]`.
fn list<'a>(out: &mut String, items: impl Iterator<Item = &'a str>) {
    out.push('[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(' ');
        }
        lit(out, item);
    }
    out.push(']');
}

/// `[]` or `[year month day]`.
fn date(out: &mut String, d: Option<crate::date::Date>) {
    match d {
        Some(d) => {
            let _ = write!(out, "[{} {} {}]", d.year(), d.month(), d.day());
        }
        None => out.push_str("[]"),
    }
}

/// A float literal (the model holds finite values only).
fn float(out: &mut String, value: f64) {
    let value = if value.is_finite() { value } else { 0.0 };
    let _ = write!(out, "{value:?}");
}

/// Expands a registry (or, with `None`, the empty skeleton emitted after a fatal error).
///
/// The text of [`expand_source`], tokenized: inside a proc macro, by the compiler's own lexer.
pub fn expand(registry: Option<&Registry>, options: &ExpandOptions) -> TokenStream {
    let source = expand_source(registry, options);
    source.parse().unwrap_or_else(|e: proc_macro2::LexError| {
        // Unreachable for generated text; never panic inside the compiler.
        compile_error(
            &format!("flags: internal error, the expansion does not lex: {e}"),
            Span::call_site(),
        )
    })
}

/// The expansion as Rust source text: per flag, one invocation of the runtime's
/// `__flags_boolean!` or `__flags_variant!` template, then `enum Flag` and `static REGISTRY`.
pub fn expand_source(registry: Option<&Registry>, options: &ExpandOptions) -> String {
    let rt = options.runtime.to_string();
    let flags: Vec<&Flag> = registry
        .map(|r| r.flags.iter().filter(|f| usable(f)).collect())
        .unwrap_or_default();
    let mut out = String::with_capacity(1024 + flags.len() * 900);
    if let Some(path) = &options.include_path {
        out.push_str("const _: &[u8] = ::core::include_bytes!(");
        lit(&mut out, path);
        out.push_str(");\n");
    }
    for (index, f) in flags.iter().enumerate() {
        expand_flag(&mut out, f, index, &rt);
    }
    expand_flag_enum(&mut out, &flags, &rt);
    expand_registry(&mut out, registry, &flags, options, &rt);
    out
}

fn doc_lines(f: &Flag) -> String {
    let mut docs = format!(" {}\n\n", f.description.value.trim());
    let _ = writeln!(docs, " - Key: `{}`", f.key.value);
    let _ = write!(docs, " - Owner: {}", f.owner.value);
    if let Some(b) = &f.backup_owner {
        let _ = write!(docs, " (backup: {})", b.value);
    }
    docs.push('\n');
    if let Some(d) = &f.default {
        let shown = match &d.value {
            DefaultValue::Bool(b) => b.to_string(),
            DefaultValue::Variant(v) => v.clone(),
        };
        let _ = writeln!(docs, " - Default: `{shown}`");
    }
    if f.is_multivariate() {
        let v: Vec<String> = f
            .variants
            .iter()
            .map(|v| format!("`{}` {}%", v.key.value, v.rollout.value))
            .collect();
        let _ = writeln!(docs, " - Variants: {}", v.join(", "));
    }
    if let Some(c) = &f.created {
        let _ = writeln!(docs, " - Created: {}", c.value);
    }
    if let Some(e) = &f.expires {
        let _ = writeln!(docs, " - Expires: {}", e.value);
    }
    if let Some(t) = &f.ticket {
        let _ = writeln!(docs, " - Ticket: {}", t.value);
    }
    if let Some(r) = &f.rollback {
        let _ = writeln!(docs, " - Rollback: {}", r.value);
    }
    if f.guardian.as_ref().is_some_and(|g| g.enabled) {
        docs.push_str(" - Guarded by `flagsync guard`\n");
    }
    let _ = write!(docs, " - Declared at `flags.yaml:{}`", f.key.pos.line);
    docs
}

fn expand_flag(out: &mut String, f: &Flag, index: usize, rt: &str) {
    let key = f.key.value.as_str();
    let multivariate = f.is_multivariate();
    // The variant enum and default, when the flag's variants are all usable identifiers.
    let variant_default = if multivariate {
        let default = match f.resolved_default() {
            DefaultValue::Variant(v) => f.variants.iter().find(|x| x.key.value == v),
            DefaultValue::Bool(_) => None,
        }
        .or(f.variants.first());
        match default {
            Some(d) => Some(d),
            None => return,
        }
    } else {
        None
    };
    let deprecated = f.archived.then(|| {
        format!(
            "#[deprecated(note = {:?})]",
            format!("flag `{key}` is archived in flags.yaml: remove this use, then the flag")
        )
    });
    let deprecated = deprecated.as_deref().unwrap_or("");
    if variant_default.is_some() {
        out.push_str("#[doc = ");
        lit(
            out,
            &format!(
                " The variants of [`{}`] (flag `{key}`), in yaml order.",
                f.ident
            ),
        );
        let _ = write!(
            out,
            "] {deprecated} #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)] pub enum {} {{",
            f.variant_ident()
        );
        for v in &f.variants {
            out.push_str("#[doc = ");
            lit(
                out,
                &format!(" `{}` ({}% of the rollout)", v.key.value, v.rollout.value),
            );
            let _ = write!(out, "] {},", v.ident);
        }
        out.push_str("}\n");
    }
    let _ = write!(
        out,
        "{rt}::{}! {{ [#[doc = ",
        if multivariate {
            "__flags_variant"
        } else {
            "__flags_boolean"
        }
    );
    lit(out, &doc_lines(f));
    let _ = write!(out, "]] [{deprecated}] {} {index}, ", f.ident);
    lit(out, key);
    out.push_str(", ");
    lit(out, &f.description.value);
    out.push_str(", ");
    lit(out, &f.owner.value);
    out.push_str(", ");
    opt(out, f.backup_owner.as_ref().map(|b| b.value.as_str()));
    out.push_str(", ");
    list(out, f.tags.iter().map(|t| t.value.as_str()));
    out.push_str(", ");
    opt(out, f.lifecycle.as_deref());
    out.push_str(", ");
    opt(out, f.area.as_deref());
    out.push_str(", ");
    match variant_default {
        Some(default) => {
            let _ = write!(out, "{} [", f.variant_ident());
            for v in &f.variants {
                let _ = write!(out, "({} ", v.ident);
                lit(out, &v.key.value);
                let _ = write!(out, " {})", v.rollout.value);
            }
            let _ = write!(out, "], {} ", default.ident);
            lit(out, &default.key.value);
        }
        None => {
            let on = matches!(f.resolved_default(), DefaultValue::Bool(true));
            out.push_str(if on { "true" } else { "false" });
        }
    }
    out.push_str(", [");
    for p in &f.payloads {
        out.push('(');
        lit(out, &p.key.value);
        out.push(' ');
        lit(out, &p.json);
        out.push(')');
    }
    out.push_str("], ");
    date(out, f.created.as_ref().map(|d| d.value));
    out.push_str(", ");
    date(out, f.expires.as_ref().map(|d| d.value));
    out.push_str(", ");
    opt(out, f.ticket.as_ref().map(|t| t.value.as_str()));
    out.push_str(", ");
    opt(out, f.rollback.as_ref().map(|t| t.value.as_str()));
    out.push_str(", ");
    list(out, f.surfaces.iter().map(|t| t.value.as_str()));
    out.push_str(", [");
    if let Some(g) = &f.guardian {
        let _ = write!(out, "{} {} ", g.enabled, g.enforce);
        float(out, g.alpha);
        out.push_str(" [");
        for m in &g.metrics {
            out.push('(');
            lit(out, &m.event.value);
            out.push(' ');
            opt(out, m.success_property.as_ref().map(|p| p.value.as_str()));
            out.push(' ');
            float(out, m.max_drop);
            out.push(')');
        }
        out.push(']');
    }
    let _ = writeln!(out, "], {}, {} }}", f.archived, f.key.pos.line);
}

fn expand_flag_enum(out: &mut String, flags: &[&Flag], rt: &str) {
    out.push_str(
        "/// Every flag declared in `flags.yaml`, in file order.\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]\n\
         pub enum Flag {\n",
    );
    for f in flags {
        out.push_str("#[doc = ");
        lit(
            out,
            &format!(" `{}`: {}", f.key.value, f.description.value.trim()),
        );
        let _ = writeln!(out, "] {},", f.ident);
    }
    out.push_str(
        "}\nimpl Flag {\n\
         /// Every flag, in file order.\n\
         pub const ALL: &'static [Flag] = &[",
    );
    for f in flags {
        let _ = write!(out, "Flag::{},", f.ident);
    }
    out.push_str(
        "];\n\
         /// The flag key in PostHog.\n\
         pub const fn key(self) -> &'static str { match self {",
    );
    for f in flags {
        let _ = write!(out, "Flag::{} => ", f.ident);
        lit(out, &f.key.value);
        out.push(',');
    }
    if flags.is_empty() {
        out.push_str("_ => \"\"");
    }
    let _ = write!(
        out,
        "}} }}\n\
         /// Everything `flags.yaml` says about the flag.\n\
         pub fn definition(self) -> &'static {rt}::FlagDefinition {{ &REGISTRY.flags[self as usize] }}\n\
         /// The flag with this PostHog key, if the registry declares it.\n\
         pub fn from_key(key: &str) -> ::core::option::Option<Flag> {{ match key {{"
    );
    for f in flags {
        lit(out, &f.key.value);
        let _ = write!(out, " => ::core::option::Option::Some(Flag::{}),", f.ident);
    }
    out.push_str(
        "_ => ::core::option::Option::None, } }\n}\n\
         #[automatically_derived]\n\
         impl ::core::fmt::Display for Flag {\n\
         fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result { f.write_str(self.key()) }\n\
         }\n",
    );
}

fn expand_registry(
    out: &mut String,
    registry: Option<&Registry>,
    flags: &[&Flag],
    options: &ExpandOptions,
    rt: &str,
) {
    let version = registry.map_or(crate::model::SCHEMA_VERSION, |r| r.version);
    let pattern = registry.map_or(crate::naming::DEFAULT_PATTERN, |r| {
        r.naming.pattern.value.as_str()
    });
    out.push_str("#[doc = ");
    lit(
        out,
        &format!(
            " The registry generated from `{}`: every flag, the naming rules and the lifetimes.",
            options.source_name
        ),
    );
    let _ = write!(
        out,
        "]\n#[allow(deprecated)]\npub static REGISTRY: {rt}::Registry = {rt}::Registry {{ version: {version}, source: "
    );
    lit(out, &options.source_name);
    let _ = write!(out, ", naming: {rt}::NamingRules {{ pattern: ");
    lit(out, pattern);
    out.push_str(", segments: &[");
    if let Some(r) = registry {
        let n = &r.naming;
        let named = [("lifecycle", &n.lifecycles), ("area", &n.areas)];
        let custom = n.segments.iter().map(|(k, v)| (k.value.as_str(), v));
        for (name, values) in named.into_iter().chain(custom) {
            out.push('(');
            lit(out, name);
            out.push_str(", &[");
            for v in values {
                lit(out, &v.value);
                out.push(',');
            }
            out.push_str("]),");
        }
    }
    out.push_str("] }, lifetimes: &[");
    if let Some(r) = registry {
        for (name, l) in &r.lifetimes {
            out.push('(');
            lit(out, &name.value);
            match l {
                Lifetime::Days(d) => {
                    let _ = write!(out, ", {rt}::Lifetime::Days({d})),");
                }
                Lifetime::Never => {
                    let _ = write!(out, ", {rt}::Lifetime::Never),");
                }
            }
        }
    }
    out.push_str("], flags: &[");
    for f in flags {
        let _ = write!(out, "{}::__DEFINITION,", f.ident);
    }
    out.push_str("] };\n");
}

/// Tokens for `compile_error!` carrying a rendered diagnostic.
pub fn compile_error(message: &str, span: Span) -> TokenStream {
    let lit = Literal::string(message);
    let mut lit_tokens = lit.into_token_stream();
    // Span the whole invocation on the chosen span so rustc points there.
    lit_tokens = lit_tokens
        .into_iter()
        .map(|mut t| {
            t.set_span(span);
            t
        })
        .collect();
    quote::quote_spanned!(span=> ::core::compile_error!{ #lit_tokens })
}
