//! A [`Registry`] read from a `flags.yaml` at run time, for `flagsync --file` and tests.
//!
//! The application gets its registry from `include_flags!()` at compile time. The jobs can also
//! run on another file (a bench registry with 2,000 flags, a test fixture): this module reads it
//! with the same parser and validator as the macro (flags-codegen) and builds the same
//! [`Registry`] the macro would generate. The strings are leaked to get `'static` data, which
//! suits a command-line run that reads one file once.

use flags_codegen::Severity;
use flags_codegen::diagnostic::Diagnostic;
use flags_codegen::model::{self, Flag};

use crate::registry::{
    DefaultValue, FlagDefinition, FlagKind, GuardianDefinition, GuardrailMetric, Lifetime,
    NamingRules, PayloadDefinition, Registry, VariantDefinition,
};

/// Why a registry file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RegistryFileError {
    /// The file could not be read.
    #[error("cannot read the flag registry {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file has errors; each is rendered as the compiler renders it.
    #[error("the flag registry {file} has {} error(s):\n{}", .errors.len(), .errors.join("\n"))]
    Invalid {
        /// The file.
        file: String,
        /// The rendered diagnostics.
        errors: Vec<String>,
    },
}

/// Reads and validates the registry at `path`, as `include_flags!()` would.
pub fn load_registry_file(path: &std::path::Path) -> Result<&'static Registry, RegistryFileError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| RegistryFileError::Read {
        file: file.clone(),
        source,
    })?;
    registry_from_yaml(&file, &text)
}

/// Validates `text` (named `file` in messages) and builds its registry.
pub fn registry_from_yaml(file: &str, text: &str) -> Result<&'static Registry, RegistryFileError> {
    let parsed = flags_codegen::parse(text);
    let errors: Vec<&Diagnostic> = parsed
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    match parsed.registry {
        Some(registry) if errors.is_empty() => Ok(leak(from_model(file, &registry))),
        _ => Err(RegistryFileError::Invalid {
            file: file.to_owned(),
            errors: if errors.is_empty() {
                vec![format!("{file}: not a flag registry")]
            } else {
                errors.iter().map(|d| d.render(file, text)).collect()
            },
        }),
    }
}

fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

fn s(value: &str) -> &'static str {
    Box::leak(value.to_owned().into_boxed_str())
}

fn list<T>(items: Vec<T>) -> &'static [T] {
    Box::leak(items.into_boxed_slice())
}

fn strs<'a>(items: impl Iterator<Item = &'a str>) -> &'static [&'static str] {
    list(items.map(s).collect())
}

fn from_model(file: &str, r: &model::Registry) -> Registry {
    let n = &r.naming;
    let mut segments = vec![
        (
            "lifecycle",
            strs(n.lifecycles.iter().map(|v| v.value.as_str())),
        ),
        ("area", strs(n.areas.iter().map(|v| v.value.as_str()))),
    ];
    for (name, values) in &n.segments {
        segments.push((
            s(&name.value),
            strs(values.iter().map(|v| v.value.as_str())),
        ));
    }
    Registry {
        version: r.version,
        source: s(file),
        naming: NamingRules {
            pattern: s(&n.pattern.value),
            segments: list(segments),
        },
        lifetimes: list(
            r.lifetimes
                .iter()
                .map(|(name, l)| {
                    let l = match l {
                        model::Lifetime::Days(d) => Lifetime::Days(*d),
                        model::Lifetime::Never => Lifetime::Never,
                    };
                    (s(&name.value), l)
                })
                .collect(),
        ),
        flags: list(r.flags.iter().map(definition).collect()),
    }
}

fn definition(f: &Flag) -> FlagDefinition {
    FlagDefinition {
        key: s(&f.key.value),
        rust_name: s(&f.ident),
        description: s(&f.description.value),
        owner: s(&f.owner.value),
        backup_owner: f.backup_owner.as_ref().map(|b| s(&b.value)),
        tags: strs(f.tags.iter().map(|t| t.value.as_str())),
        lifecycle: f.lifecycle.as_deref().map(s),
        area: f.area.as_deref().map(s),
        kind: if f.is_multivariate() {
            FlagKind::Multivariate
        } else {
            FlagKind::Boolean
        },
        default: match f.resolved_default() {
            model::DefaultValue::Bool(b) => DefaultValue::Bool(b),
            model::DefaultValue::Variant(v) => DefaultValue::Variant(s(&v)),
        },
        variants: list(
            f.variants
                .iter()
                .map(|v| VariantDefinition {
                    key: s(&v.key.value),
                    rollout_percentage: v.rollout.value,
                })
                .collect(),
        ),
        payloads: list(
            f.payloads
                .iter()
                .map(|p| PayloadDefinition {
                    key: s(&p.key.value),
                    json: s(&p.json),
                })
                .collect(),
        ),
        created: f.created.as_ref().map(|d| d.value),
        expires: f.expires.as_ref().map(|d| d.value),
        ticket: f.ticket.as_ref().map(|t| s(&t.value)),
        rollback: f.rollback.as_ref().map(|t| s(&t.value)),
        surfaces: strs(f.surfaces.iter().map(|t| t.value.as_str())),
        guardian: f.guardian.as_ref().map(|g| GuardianDefinition {
            enabled: g.enabled,
            enforce: g.enforce,
            alpha: g.alpha,
            metrics: list(
                g.metrics
                    .iter()
                    .map(|m| GuardrailMetric {
                        event: s(&m.event.value),
                        success_property: m.success_property.as_ref().map(|p| s(&p.value)),
                        max_drop: m.max_drop,
                    })
                    .collect(),
            ),
        }),
        archived: f.archived,
        line: f.key.pos.line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_registry_reads_as_the_macro_generates_it() {
        let text = include_str!("../../flags.yaml");
        let registry = registry_from_yaml("flags.yaml", text).expect("valid");
        let flag = registry.get("release_studio_new_editor").expect("declared");
        assert_eq!(flag.rust_name, "ReleaseStudioNewEditor");
        assert_eq!(flag.lifecycle, Some("release"));
        assert!(flag.guardian.is_some_and(|g| g.enforce));
        assert!(registry.naming.check("release_studio_x").is_ok());
    }

    #[test]
    fn an_invalid_file_is_an_error_with_its_line() {
        let err = registry_from_yaml("bad.yaml", "naming:\n  areas: [a]\nflags:\n  Bad: {}\n")
            .expect_err("invalid");
        let text = err.to_string();
        assert!(text.contains("bad.yaml:4:"), "{text}");
    }
}
