//! The `flags.yaml` model, and everything that turns it into Rust.
//!
//! One core serves the `include_flags!()` proc macro (flags-macros), the `flagsync check`
//! command and the runtime's naming checks:
//!
//! - [`load`]: YAML text to a tree of positioned nodes (the only module naming serde-saphyr);
//! - [`read`]: nodes to the typed [`model`], with every field error recorded;
//! - [`validate`]: rules across fields and flags (naming, identifiers, variants, dates);
//! - [`expand`]: the model to a `TokenStream`;
//! - [`governance`]: findings that must not break a build (expiry, lifetimes, backup owners);
//! - [`diagnostic`]: what went wrong, where, and how to fix it.
//!
//! This crate is semver-exempt: depend on it with an exact (`=`) version.

pub mod date;
pub mod diagnostic;
pub mod expand;
pub mod governance;
pub mod load;
pub mod model;
pub mod naming;
pub mod read;
pub mod validate;

pub use diagnostic::{Diagnostic, Pos, Severity};
pub use model::Registry;

/// The result of reading a registry: the model (when the file could be read at all) and
/// every problem found, in file order.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The registry, possibly with problems; `None` when the text is not a usable document.
    pub registry: Option<Registry>,
    /// Every error, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Parsed {
    /// True when there are no errors.
    pub fn is_ok(&self) -> bool {
        self.registry.is_some()
            && self
                .diagnostics
                .iter()
                .all(|d| d.severity != Severity::Error)
    }
}

/// Loads, reads and validates `flags.yaml` text. Never panics.
pub fn parse(source: &str) -> Parsed {
    let mut diagnostics = Vec::new();
    let registry = match load::load(source) {
        Ok(root) => read::read_registry(&root, &mut diagnostics).map(|mut r| {
            validate::validate(&mut r, &mut diagnostics);
            r
        }),
        Err(d) => {
            diagnostics.push(d.with_code("syntax"));
            None
        }
    };
    diagnostics.sort_by_key(|d| d.pos);
    Parsed {
        registry,
        diagnostics,
    }
}
