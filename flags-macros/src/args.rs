//! The arguments of `include_flags!(…)`.

use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Path, Token};

/// Where the yaml comes from.
pub(crate) enum Source {
    /// A file, relative to the crate root (`None`: `flags.yaml`).
    File(Option<LitStr>),
    /// Inline yaml text.
    Inline(LitStr),
}

/// Parsed arguments.
pub(crate) struct Args {
    pub(crate) source: Source,
    pub(crate) runtime: Option<Path>,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut source: Option<Source> = None;
        let mut runtime = None;
        while !input.is_empty() {
            let name: Ident = if input.peek(Token![crate]) {
                let kw: Token![crate] = input.parse()?;
                Ident::new("crate", kw.span)
            } else {
                input.parse()?
            };
            input.parse::<Token![=]>()?;
            match name.to_string().as_str() {
                "path" | "source" if source.is_some() => {
                    return Err(syn::Error::new(
                        name.span(),
                        "give either `path` or `source`, once",
                    ));
                }
                "path" => source = Some(Source::File(Some(input.parse()?))),
                "source" => source = Some(Source::Inline(input.parse()?)),
                "crate" => runtime = Some(input.call(Path::parse_mod_style)?),
                other => {
                    return Err(syn::Error::new(
                        name.span(),
                        format!(
                            "unknown argument `{other}`: expected `path = \"…\"`, `source = \"…\"` or `crate = path`"
                        ),
                    ));
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(Args {
            source: source.unwrap_or(Source::File(None)),
            runtime,
        })
    }
}
