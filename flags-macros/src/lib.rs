//! `include_flags!()`: `flags.yaml` becomes typed Rust at compile time.
//!
//! A thin layer over `flags-codegen`: it parses the macro's arguments, resolves and reads the
//! file, and turns diagnostics into `compile_error!`s that name `flags.yaml:LINE:COL`. It never
//! panics: whatever the input, it emits code (a skeleton after a fatal error), so one mistake
//! gives one error.
//!
//! ```ignore
//! flags_macros::include_flags!();                                  // ./flags.yaml
//! flags_macros::include_flags!(path = "config/flags.yaml");
//! flags_macros::include_flags!(source = "naming: {areas: [ai]}\nflags: {}");
//! flags_macros::include_flags!(path = "flags.yaml", crate = ::my_runtime);
//! ```

mod args;
mod env;

use flags_codegen::expand::{ExpandOptions, compile_error, expand};
use proc_macro2::{Span, TokenStream};
use quote::quote;

use crate::args::{Args, Source};

/// Generates one type per flag of `flags.yaml`, the `Flag` enum and the `REGISTRY` static.
///
/// Arguments (all optional, comma-separated): `path = "…"` (relative to the crate root,
/// default `flags.yaml`), `source = "…"` (inline yaml instead of a file), `crate = path`
/// (where the runtime crate is, default `::flags_runtime`).
#[proc_macro]
pub fn include_flags(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    expand_include_flags(input.into()).into()
}

fn expand_include_flags(input: TokenStream) -> TokenStream {
    let args = match syn::parse2::<Args>(input) {
        Ok(args) => args,
        Err(e) => {
            let skeleton = expand(None, &ExpandOptions::default());
            let err = e.to_compile_error();
            return quote!(#err #skeleton);
        }
    };
    let mut options = ExpandOptions::default();
    if let Some(rt) = &args.runtime {
        options.runtime = quote!(#rt);
    }
    let (text, span) = match &args.source {
        Source::Inline(lit) => {
            options.source_name = "<inline source>".into();
            (lit.value(), lit.span())
        }
        Source::File(lit) => {
            let written = lit
                .as_ref()
                .map_or_else(|| "flags.yaml".to_string(), syn::LitStr::value);
            let span = lit.as_ref().map_or_else(Span::call_site, syn::LitStr::span);
            options.source_name = written.clone();
            match env::resolve(&written).and_then(|p| read(&p).map(|t| (p, t))) {
                Ok((path, text)) => {
                    options.include_path = Some(path.display().to_string());
                    (text, span)
                }
                Err(message) => {
                    let err = compile_error(&message, span);
                    let skeleton = expand(None, &options);
                    return quote!(#err #skeleton);
                }
            }
        }
    };

    let parsed = flags_codegen::parse(&text);
    let errors = parsed
        .diagnostics
        .iter()
        .map(|d| compile_error(&d.render_body(&options.source_name, &text), span));
    let code = expand(parsed.registry.as_ref(), &options);
    quote!(#(#errors)* #code)
}

fn read(path: &std::path::Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| {
        let help = if e.kind() == std::io::ErrorKind::NotFound {
            "create the file, or pass `path = \"…\"` relative to the crate's Cargo.toml"
        } else {
            "check the file's permissions and that it is UTF-8 text"
        };
        format!(
            "cannot read the flag registry: tried {}: {e}\n  = help: {help}",
            path.display()
        )
    })
}
