//! The one place that reads the environment and resolves the yaml path (sqlx's rule: no
//! absolute paths, relative to the crate root). `clippy.toml` forbids `std::env::var`
//! elsewhere in this crate.

use std::path::PathBuf;

/// Resolves `written` against `CARGO_MANIFEST_DIR_OVERRIDE` (set by UI tests, see
/// dtolnay/trybuild#202) or `CARGO_MANIFEST_DIR`.
pub(crate) fn resolve(written: &str) -> Result<PathBuf, String> {
    let relative = std::path::Path::new(written);
    if relative.is_absolute() {
        return Err(format!(
            "`{written}` is an absolute path, which only works on this machine\n  = help: write the path relative to the crate's Cargo.toml, e.g. `path = \"flags.yaml\"`"
        ));
    }
    #[allow(clippy::disallowed_methods)]
    let base = std::env::var("CARGO_MANIFEST_DIR_OVERRIDE")
        .or_else(|_| std::env::var("CARGO_MANIFEST_DIR"))
        .map_err(|_| {
            "CARGO_MANIFEST_DIR is not set: include_flags!() must be expanded by cargo".to_string()
        })?;
    Ok(PathBuf::from(base).join(relative))
}
