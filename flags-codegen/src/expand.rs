//! Code generation: the validated model to Rust tokens.
//!
//! Output is deterministic (file order, no hash maps) and refers to runtime types by full
//! path (`::flags_runtime::…` unless the caller re-points it). Only flags whose identifiers are
//! valid are emitted, so after an error the rest of the registry still exists and the user
//! sees one error instead of a cascade.

use proc_macro2::{Ident, Literal, Span, TokenStream};
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

fn ident(name: &str) -> Option<Ident> {
    identifier_problem(name)
        .is_none()
        .then(|| Ident::new(name, Span::call_site()))
}

fn opt_str(value: Option<&str>) -> TokenStream {
    match value {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    }
}

fn str_slice<'a>(items: impl Iterator<Item = &'a str>) -> TokenStream {
    let items: Vec<&str> = items.collect();
    quote!(&[#(#items),*])
}

fn date(rt: &TokenStream, d: Option<crate::date::Date>) -> TokenStream {
    match d {
        Some(d) => {
            let (y, m, day) = (
                Literal::i32_unsuffixed(d.year()),
                Literal::u8_unsuffixed(d.month()),
                Literal::u8_unsuffixed(d.day()),
            );
            quote!(::core::option::Option::Some(#rt::Date::__validated(#y, #m, #day)))
        }
        None => quote!(::core::option::Option::None),
    }
}

/// Expands a registry (or, with `None`, the empty skeleton emitted after a fatal error).
pub fn expand(registry: Option<&Registry>, options: &ExpandOptions) -> TokenStream {
    let rt = &options.runtime;
    let flags: Vec<&Flag> = registry
        .map(|r| r.flags.iter().filter(|f| f.emit).collect())
        .unwrap_or_default();

    let include = options.include_path.as_ref().map(|p| {
        quote!(
            const _: &[u8] = ::core::include_bytes!(#p);
        )
    });

    let per_flag: Vec<TokenStream> = flags
        .iter()
        .enumerate()
        .map(|(i, f)| expand_flag(f, i, rt))
        .collect();
    let flag_enum = expand_flag_enum(&flags, rt);
    let registry_static = expand_registry(registry, &flags, options);

    quote! {
        #include
        #(#per_flag)*
        #flag_enum
        #registry_static
    }
}

fn doc_lines(f: &Flag) -> Vec<String> {
    let mut docs = vec![format!(" {}", f.description.value.trim()), String::new()];
    docs.push(format!(" - Key: `{}`", f.key.value));
    let mut owner = format!(" - Owner: {}", f.owner.value);
    if let Some(b) = &f.backup_owner {
        owner.push_str(&format!(" (backup: {})", b.value));
    }
    docs.push(owner);
    if let Some(d) = &f.default {
        docs.push(format!(
            " - Default: `{}`",
            match &d.value {
                DefaultValue::Bool(b) => b.to_string(),
                DefaultValue::Variant(v) => v.clone(),
            }
        ))
    }
    if !f.variants.is_empty() {
        let v: Vec<String> = f
            .variants
            .iter()
            .map(|v| format!("`{}` {}%", v.key.value, v.rollout.value))
            .collect();
        docs.push(format!(" - Variants: {}", v.join(", ")));
    }
    if let Some(c) = &f.created {
        docs.push(format!(" - Created: {}", c.value));
    }
    if let Some(e) = &f.expires {
        docs.push(format!(" - Expires: {}", e.value));
    }
    if let Some(t) = &f.ticket {
        docs.push(format!(" - Ticket: {}", t.value));
    }
    if let Some(r) = &f.rollback {
        docs.push(format!(" - Rollback: {}", r.value));
    }
    if f.guardian.as_ref().is_some_and(|g| g.enabled) {
        docs.push(" - Guarded by `flagsync guard`".into());
    }
    docs.push(format!(" - Declared at `flags.yaml:{}`", f.key.pos.line));
    docs
}

fn expand_flag(f: &Flag, index: usize, rt: &TokenStream) -> TokenStream {
    let Some(name) = ident(&f.ident) else {
        return TokenStream::new();
    };
    let key = f.key.value.as_str();
    let description = f.description.value.as_str();
    let owner = f.owner.value.as_str();
    let docs = doc_lines(f);
    let expires = date(rt, f.expires.as_ref().map(|d| d.value));
    let deprecated = f.archived.then(|| {
        let note =
            format!("flag `{key}` is archived in flags.yaml: remove this use, then the flag");
        quote!(#[deprecated(note = #note)])
    });
    let flag_variant = name.clone();

    let (kind_impl, default_const, variant_enum, value_type) = if f.is_multivariate() {
        let venum = ident(&f.variant_ident());
        let variants: Vec<(Ident, &str, u32)> = f
            .variants
            .iter()
            .filter_map(|v| Some((ident(&v.ident)?, v.key.value.as_str(), v.rollout.value)))
            .collect();
        let default_ident = match &f.default {
            Some(d) => match &d.value {
                DefaultValue::Variant(v) => f
                    .variants
                    .iter()
                    .find(|x| &x.key.value == v)
                    .and_then(|x| ident(&x.ident)),
                DefaultValue::Bool(_) => None,
            },
            None => None,
        }
        .or_else(|| variants.first().map(|v| v.0.clone()));
        match (venum, default_ident) {
            (Some(venum), Some(default_ident)) => {
                let venum_doc = format!(
                    " The variants of [`{}`] (flag `{key}`), in yaml order.",
                    f.ident
                );
                let vidents: Vec<&Ident> = variants.iter().map(|v| &v.0).collect();
                let vkeys: Vec<&str> = variants.iter().map(|v| v.1).collect();
                let vdocs: Vec<String> = variants
                    .iter()
                    .map(|v| format!(" `{}` ({}% of the rollout)", v.1, v.2))
                    .collect();
                let enum_tokens = quote! {
                    #[doc = #venum_doc]
                    #deprecated
                    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
                    pub enum #venum {
                        #( #[doc = #vdocs] #vidents, )*
                    }
                    #[allow(deprecated)]
                    impl #venum {
                        /// Every variant, in yaml order.
                        pub const ALL: &'static [Self] = &[#(Self::#vidents),*];
                        /// The variant key in PostHog.
                        pub const fn as_str(self) -> &'static str {
                            match self { #(Self::#vidents => #vkeys,)* }
                        }
                    }
                    #[automatically_derived]
                    #[allow(deprecated)]
                    impl ::core::str::FromStr for #venum {
                        type Err = #rt::UnknownVariant;
                        fn from_str(s: &str) -> ::core::result::Result<Self, Self::Err> {
                            match s {
                                #(#vkeys => ::core::result::Result::Ok(Self::#vidents),)*
                                other => ::core::result::Result::Err(#rt::UnknownVariant { flag: #key, value: ::std::string::String::from(other) }),
                            }
                        }
                    }
                    #[automatically_derived]
                    #[allow(deprecated)]
                    impl ::core::fmt::Display for #venum {
                        fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                            f.write_str(self.as_str())
                        }
                    }
                    #[automatically_derived]
                    #[allow(deprecated)]
                    impl #rt::FlagVariant for #venum {
                        const ALL: &'static [Self] = #venum::ALL;
                        fn as_str(self) -> &'static str { #venum::as_str(self) }
                    }
                };
                let kind_impl = quote! {
                    #[automatically_derived]
                    #[allow(deprecated)]
                    impl #rt::VariantFlag for #name {
                        type Variant = #venum;
                        const DEFAULT: #venum = #venum::#default_ident;
                    }
                };
                let default_const = quote! {
                    /// The variant the application gets when PostHog cannot answer.
                    pub const DEFAULT: #venum = #venum::#default_ident;
                };
                let value_type = quote!(type Value = #venum; const DEFAULT_VALUE: #venum = #venum::#default_ident;);
                (kind_impl, default_const, enum_tokens, value_type)
            }
            _ => (
                TokenStream::new(),
                TokenStream::new(),
                TokenStream::new(),
                quote!(
                    type Value = bool;
                    const DEFAULT_VALUE: bool = false;
                ),
            ),
        }
    } else {
        let default = matches!(
            f.default.as_ref().map(|d| &d.value),
            Some(DefaultValue::Bool(true))
        );
        let kind_impl = quote! {
            #[automatically_derived]
            #[allow(deprecated)]
            impl #rt::BooleanFlag for #name {
                const DEFAULT: bool = #default;
            }
        };
        let default_const = quote! {
            /// The value the application gets when PostHog cannot answer.
            pub const DEFAULT: bool = #default;
        };
        let value_type = quote!(type Value = bool; const DEFAULT_VALUE: bool = #default;);
        (kind_impl, default_const, TokenStream::new(), value_type)
    };
    let index = Literal::usize_unsuffixed(index);

    quote! {
        #(#[doc = #docs])*
        #deprecated
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct #name;

        #[allow(deprecated)]
        impl #name {
            /// The flag key in PostHog.
            pub const KEY: &'static str = #key;
            /// What the flag gates.
            pub const DESCRIPTION: &'static str = #description;
            /// Who answers for the flag.
            pub const OWNER: &'static str = #owner;
            /// The day the flag must be gone, if set.
            pub const EXPIRES: ::core::option::Option<#rt::Date> = #expires;
            #default_const
            /// This flag in [`Flag`].
            pub const FLAG: Flag = Flag::#flag_variant;
            /// Everything `flags.yaml` says about the flag.
            pub fn definition() -> &'static #rt::FlagDefinition {
                &REGISTRY.flags[#index]
            }
        }

        #[automatically_derived]
        #[allow(deprecated)]
        impl #rt::FlagDef for #name {
            const KEY: &'static str = #key;
            #value_type
            fn definition() -> &'static #rt::FlagDefinition {
                &REGISTRY.flags[#index]
            }
        }

        #kind_impl
        #variant_enum
    }
}

fn expand_flag_enum(flags: &[&Flag], _rt: &TokenStream) -> TokenStream {
    let names: Vec<Ident> = flags.iter().filter_map(|f| ident(&f.ident)).collect();
    let keys: Vec<&str> = flags
        .iter()
        .filter(|f| ident(&f.ident).is_some())
        .map(|f| f.key.value.as_str())
        .collect();
    let docs: Vec<String> = flags
        .iter()
        .filter(|f| ident(&f.ident).is_some())
        .map(|f| format!(" `{}`: {}", f.key.value, f.description.value.trim()))
        .collect();
    let indices: Vec<Literal> = (0..names.len()).map(Literal::usize_unsuffixed).collect();
    let rt = _rt;
    quote! {
        /// Every flag declared in `flags.yaml`, in file order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Flag {
            #( #[doc = #docs] #names, )*
        }

        impl Flag {
            /// Every flag, in file order.
            pub const ALL: &'static [Flag] = &[#(Flag::#names),*];

            /// The flag key in PostHog.
            pub const fn key(self) -> &'static str {
                match self { #(Flag::#names => #keys,)* }
            }

            /// Everything `flags.yaml` says about the flag.
            pub fn definition(self) -> &'static #rt::FlagDefinition {
                match self { #(Flag::#names => &REGISTRY.flags[#indices],)* }
            }

            /// The flag with this PostHog key, if the registry declares it.
            pub fn from_key(key: &str) -> ::core::option::Option<Flag> {
                match key {
                    #(#keys => ::core::option::Option::Some(Flag::#names),)*
                    _ => ::core::option::Option::None,
                }
            }
        }

        #[automatically_derived]
        impl ::core::fmt::Display for Flag {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.key())
            }
        }
    }
}

fn expand_registry(
    registry: Option<&Registry>,
    flags: &[&Flag],
    options: &ExpandOptions,
) -> TokenStream {
    let rt = &options.runtime;
    let source = options.source_name.as_str();
    let version =
        Literal::u32_unsuffixed(registry.map_or(crate::model::SCHEMA_VERSION, |r| r.version));
    let pattern = registry.map_or(crate::naming::DEFAULT_PATTERN, |r| {
        r.naming.pattern.value.as_str()
    });
    let segments: Vec<TokenStream> = registry
        .map(|r| {
            let n = &r.naming;
            let mut list: Vec<(&str, Vec<&str>)> = Vec::new();
            for (name, values) in [("lifecycle", &n.lifecycles), ("area", &n.areas)] {
                list.push((name, values.iter().map(|v| v.value.as_str()).collect()));
            }
            for (name, values) in &n.segments {
                list.push((
                    name.value.as_str(),
                    values.iter().map(|v| v.value.as_str()).collect(),
                ));
            }
            list.into_iter()
                .map(|(name, values)| {
                    let values = str_slice(values.into_iter());
                    quote!((#name, #values))
                })
                .collect()
        })
        .unwrap_or_default();
    let lifetimes: Vec<TokenStream> = registry
        .map(|r| {
            r.lifetimes
                .iter()
                .map(|(name, l)| {
                    let name = name.value.as_str();
                    let l = match l {
                        Lifetime::Days(d) => {
                            let d = Literal::u32_unsuffixed(*d);
                            quote!(#rt::Lifetime::Days(#d))
                        }
                        Lifetime::Never => quote!(#rt::Lifetime::Never),
                    };
                    quote!((#name, #l))
                })
                .collect()
        })
        .unwrap_or_default();
    let defs: Vec<TokenStream> = flags.iter().map(|f| flag_definition(f, rt)).collect();
    let doc = format!(
        " The registry generated from `{source}`: every flag, the naming rules and the lifetimes."
    );
    quote! {
        #[doc = #doc]
        pub static REGISTRY: #rt::Registry = #rt::Registry {
            version: #version,
            source: #source,
            naming: #rt::NamingRules {
                pattern: #pattern,
                segments: &[#(#segments),*],
            },
            lifetimes: &[#(#lifetimes),*],
            flags: &[#(#defs),*],
        };
    }
}

fn flag_definition(f: &Flag, rt: &TokenStream) -> TokenStream {
    let key = f.key.value.as_str();
    let rust_name = f.ident.as_str();
    let description = f.description.value.as_str();
    let owner = f.owner.value.as_str();
    let backup_owner = opt_str(f.backup_owner.as_ref().map(|s| s.value.as_str()));
    let tags = str_slice(f.tags.iter().map(|t| t.value.as_str()));
    let lifecycle = opt_str(f.lifecycle.as_deref());
    let area = opt_str(f.area.as_deref());
    let kind = if f.is_multivariate() {
        quote!(#rt::FlagKind::Multivariate)
    } else {
        quote!(#rt::FlagKind::Boolean)
    };
    let default = match f.resolved_default() {
        DefaultValue::Variant(v) => quote!(#rt::DefaultValue::Variant(#v)),
        DefaultValue::Bool(b) => quote!(#rt::DefaultValue::Bool(#b)),
    };
    let variants = f.variants.iter().map(|v| {
        let k = v.key.value.as_str();
        let p = Literal::u32_unsuffixed(v.rollout.value);
        quote!(#rt::VariantDefinition { key: #k, rollout_percentage: #p })
    });
    let payloads = f.payloads.iter().map(|p| {
        let k = p.key.value.as_str();
        let j = p.json.as_str();
        quote!(#rt::PayloadDefinition { key: #k, json: #j })
    });
    let created = date(rt, f.created.as_ref().map(|d| d.value));
    let expires = date(rt, f.expires.as_ref().map(|d| d.value));
    let ticket = opt_str(f.ticket.as_ref().map(|s| s.value.as_str()));
    let rollback = opt_str(f.rollback.as_ref().map(|s| s.value.as_str()));
    let surfaces = str_slice(f.surfaces.iter().map(|t| t.value.as_str()));
    let guardian = match &f.guardian {
        Some(g) => {
            let (enabled, enforce) = (g.enabled, g.enforce);
            let alpha = Literal::f64_unsuffixed(g.alpha);
            let metrics = g.metrics.iter().map(|m| {
                let event = m.event.value.as_str();
                let sp = opt_str(m.success_property.as_ref().map(|s| s.value.as_str()));
                let max_drop = Literal::f64_unsuffixed(m.max_drop);
                quote!(#rt::GuardrailMetric { event: #event, success_property: #sp, max_drop: #max_drop })
            });
            quote!(::core::option::Option::Some(#rt::GuardianDefinition {
                enabled: #enabled, enforce: #enforce, alpha: #alpha, metrics: &[#(#metrics),*],
            }))
        }
        None => quote!(::core::option::Option::None),
    };
    let archived = f.archived;
    let line = Literal::u32_unsuffixed(f.key.pos.line);
    quote! {
        #rt::FlagDefinition {
            key: #key,
            rust_name: #rust_name,
            description: #description,
            owner: #owner,
            backup_owner: #backup_owner,
            tags: #tags,
            lifecycle: #lifecycle,
            area: #area,
            kind: #kind,
            default: #default,
            variants: &[#(#variants),*],
            payloads: &[#(#payloads),*],
            created: #created,
            expires: #expires,
            ticket: #ticket,
            rollback: #rollback,
            surfaces: #surfaces,
            guardian: #guardian,
            archived: #archived,
            line: #line,
        }
    }
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
