//! Rules across fields and flags: the naming convention, Rust identifiers and their
//! collisions, variants, payload keys, and dates. Runs after [`crate::read`]; completes the
//! model (identifiers, lifecycle, area) and records every problem.

use std::collections::HashMap;

use crate::diagnostic::{Diagnostic, Pos, did_you_mean};
use crate::model::{Flag, Registry};
use crate::naming::{self, Convention, Violation};

/// Names the generated code uses itself; a flag may not take them.
const RESERVED_IDENTS: &[&str] = &["Flag", "REGISTRY"];

/// Validates `registry` in place, pushing problems to `diags`.
pub fn validate(registry: &mut Registry, diags: &mut Vec<Diagnostic>) {
    check_naming_lists(registry, diags);
    let convention = match Convention::new(&registry.naming.pattern.value, |name| {
        registry.naming.values_of(name)
    }) {
        Ok(c) => Some(c),
        Err(e) => {
            diags.push(
                Diagnostic::error(
                    registry.naming.pattern.pos,
                    format!("invalid naming pattern: {}", e.message),
                )
                .with_code("bad-pattern")
                .with_help(
                    "write placeholders in braces joined by `_`, e.g. `{lifecycle}_{area}_{name}`",
                ),
            );
            None
        }
    };
    if let Some(c) = &convention {
        let placeholders: Vec<&str> = c.segment_names().collect();
        for (name, _) in &registry.naming.segments {
            if !placeholders.contains(&name.value.as_str()) {
                diags.push(
                    Diagnostic::error(
                        name.pos,
                        format!(
                            "segment `{}` is not a placeholder of the naming pattern",
                            name.value
                        ),
                    )
                    .with_code("unknown-segment")
                    .with_help(format!("the pattern has: {}", placeholders.join(", "))),
                );
            }
        }
    }
    let lifecycles: Vec<String> = registry
        .naming
        .lifecycles
        .iter()
        .map(|l| l.value.clone())
        .collect();
    for (name, _) in &registry.lifetimes {
        if name.pos.line > 0 && !lifecycles.contains(&name.value) {
            let help = match did_you_mean(&name.value, lifecycles.iter().map(String::as_str)) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("declared lifecycles: {}", lifecycles.join(", ")),
            };
            diags.push(
                Diagnostic::error(
                    name.pos,
                    format!("`lifetimes` names unknown lifecycle `{}`", name.value),
                )
                .with_code("unknown-lifecycle")
                .with_help(help),
            );
        }
    }

    let pattern_has_lifecycle = registry.naming.pattern.value.contains("{lifecycle}");
    let mut idents: HashMap<String, (Pos, String)> = RESERVED_IDENTS
        .iter()
        .map(|r| ((*r).to_string(), (Pos::new(0, 0), String::new())))
        .collect();
    for flag in &mut registry.flags {
        if let Some(c) = &convention {
            check_key(c, flag, diags);
        }
        check_lifecycle_field(flag, pattern_has_lifecycle, &lifecycles, diags);
        let ident_ok = check_ident(flag, &mut idents, diags);
        check_variants(flag, diags);
        check_payloads(flag, diags);
        check_dates(flag, diags);
        flag.emit = ident_ok;
    }
}

fn check_naming_lists(registry: &Registry, diags: &mut Vec<Diagnostic>) {
    let naming = &registry.naming;
    let lists = [("lifecycles", &naming.lifecycles), ("areas", &naming.areas)];
    let segments = naming.segments.iter().map(|(n, v)| (n.value.as_str(), v));
    for (list, values) in lists.into_iter().chain(segments) {
        let mut seen: Vec<&str> = Vec::new();
        for v in values {
            if v.value.is_empty()
                || !v
                    .value
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                diags.push(
                    Diagnostic::error(
                        v.pos,
                        format!("`{}` in `naming.{list}` is not lower snake case", v.value),
                    )
                    .with_code("bad-naming-value")
                    .with_help("use a-z, 0-9 and `_` only, e.g. `billing`"),
                );
            }
            if seen.contains(&v.value.as_str()) {
                diags.push(
                    Diagnostic::error(
                        v.pos,
                        format!("`{}` appears twice in `naming.{list}`", v.value),
                    )
                    .with_code("duplicate-key")
                    .with_help("list each value once"),
                );
            }
            seen.push(&v.value);
        }
    }
}

fn check_key(convention: &Convention<'_>, flag: &mut Flag, diags: &mut Vec<Diagnostic>) {
    let key = &flag.key;
    match convention.check(&key.value) {
        Ok(parts) => {
            for (segment, value) in parts {
                match segment {
                    "lifecycle" => flag.lifecycle = Some(value.to_string()),
                    "area" => flag.area = Some(value.to_string()),
                    _ => {}
                }
            }
        }
        Err(v) => {
            let help = match &v {
                Violation::UnknownValue {
                    found,
                    expected,
                    segment,
                    ..
                } => match did_you_mean(found, expected.iter().map(String::as_str)) {
                    Some(s) => format!(
                        "did you mean `{s}`? (or add `{found}` to the {segment} list under `naming`)"
                    ),
                    None => format!(
                        "start with one of: {} (or declare `{found}` under `naming`)",
                        expected.join(", ")
                    ),
                },
                Violation::UpperCase { .. } => format!(
                    "write the key in lower snake case: `{}`",
                    naming::to_snake(&key.value)
                ),
                Violation::BadCharacter { .. } => format!(
                    "replace it with `_`: `{}`",
                    key.value
                        .chars()
                        .map(|c| if c.is_ascii_alphanumeric() {
                            c.to_ascii_lowercase()
                        } else {
                            '_'
                        })
                        .collect::<String>()
                ),
                Violation::EmptySegment { .. } => "remove the extra `_`".to_string(),
                _ => "keys read `<lifecycle>_<area>_<name>` (or the `naming.pattern` of this file)"
                    .to_string(),
            };
            diags.push(
                Diagnostic::error(
                    key.pos.shifted(v.offset() as u32),
                    format!(
                        "flag key `{}` breaks the naming convention `{}`: {v}",
                        key.value,
                        convention_text(convention)
                    ),
                )
                .with_code("naming")
                .with_len(match &v {
                    Violation::UnknownValue { found, .. } => found.chars().count().max(1) as u32,
                    Violation::MissingSegment { .. } => 1,
                    _ => 1,
                })
                .with_help(help),
            );
        }
    }
}

fn convention_text(c: &Convention<'_>) -> String {
    let names: Vec<String> = c.segment_names().map(|n| format!("<{n}>")).collect();
    names.join("_")
}

fn check_lifecycle_field(
    flag: &mut Flag,
    from_key: bool,
    lifecycles: &[String],
    diags: &mut Vec<Diagnostic>,
) {
    let Some(field) = &flag.lifecycle_field else {
        return;
    };
    if from_key {
        diags.push(
            Diagnostic::error(
                field.pos,
                "`lifecycle` is taken from the key under this naming pattern",
            )
            .with_code("redundant-lifecycle")
            .with_help("remove this line; the key's first segment is the lifecycle"),
        );
    } else if !lifecycles.contains(&field.value) {
        diags.push(
            Diagnostic::error(field.pos, format!("unknown lifecycle `{}`", field.value))
                .with_code("unknown-lifecycle")
                .with_help(format!("declared lifecycles: {}", lifecycles.join(", "))),
        );
    } else {
        flag.lifecycle = Some(field.value.clone());
    }
}

/// Sets the flag's identifier; false when code cannot be generated for it.
fn check_ident(
    flag: &mut Flag,
    idents: &mut HashMap<String, (Pos, String)>,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    flag.ident = naming::upper_camel(&flag.key.value);
    if let Some(problem) = naming::identifier_problem(&flag.ident) {
        diags.push(
            Diagnostic::error(flag.key.pos, format!("flag key `{}` cannot name a Rust type: {problem}", flag.key.value))
                .with_code("bad-identifier")
                .with_help("rename the key so its UpperCamelCase form is a Rust identifier (start with a letter)"),
        );
        return false;
    }
    let mut names = vec![flag.ident.clone()];
    if flag.is_multivariate() {
        names.push(flag.variant_ident());
    }
    for name in names {
        if let Some((pos, other)) = idents.get(&name) {
            let mut d = Diagnostic::error(
                flag.key.pos,
                format!(
                    "flag key `{}` generates the Rust name `{name}`, which is already taken",
                    flag.key.value
                ),
            )
            .with_code("identifier-collision");
            if other.is_empty() {
                d = d.with_help(format!(
                    "`{name}` is reserved by the generated code; rename the key"
                ));
            } else {
                d = d
                    .with_related(*pos, format!("`{other}` also generates `{name}`"))
                    .with_help("rename one of the two keys so their UpperCamelCase forms differ");
            }
            diags.push(d);
            return false;
        }
    }
    idents.insert(flag.ident.clone(), (flag.key.pos, flag.key.value.clone()));
    if flag.is_multivariate() {
        idents.insert(flag.variant_ident(), (flag.key.pos, flag.key.value.clone()));
    }
    true
}

fn check_variants(flag: &mut Flag, diags: &mut Vec<Diagnostic>) {
    let Some(pos) = flag.variants_pos else {
        return;
    };
    let what = format!("flag `{}`", flag.key.value);
    if flag.variants.len() < 2 {
        diags.push(
            Diagnostic::error(pos, format!("{what} declares fewer than two variants"))
                .with_code("too-few-variants")
                .with_help("a multivariate flag needs at least two variants (e.g. `control` and `test`); a plain on/off flag has no `variants`"),
        );
    }
    let mut seen: HashMap<String, (Pos, String)> = HashMap::new();
    for v in &mut flag.variants {
        v.ident = naming::upper_camel(&v.key.value);
        let snake_ok = !v.key.value.is_empty()
            && v.key
                .value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !snake_ok {
            diags.push(
                Diagnostic::error(
                    v.key.pos,
                    format!(
                        "variant `{}` of {what} is not lower snake case",
                        v.key.value
                    ),
                )
                .with_code("bad-variant")
                .with_help(format!(
                    "write it as `{}`",
                    v.key.value.to_lowercase().replace(['-', ' '], "_")
                )),
            );
            continue;
        }
        if let Some(problem) = naming::identifier_problem(&v.ident) {
            diags.push(
                Diagnostic::error(
                    v.key.pos,
                    format!(
                        "variant `{}` of {what} cannot name a Rust enum variant: {problem}",
                        v.key.value
                    ),
                )
                .with_code("bad-identifier")
                .with_help("rename the variant so it starts with a letter and is not a keyword"),
            );
            continue;
        }
        if let Some((first, other)) = seen.get(&v.ident) {
            diags.push(
                Diagnostic::error(
                    v.key.pos,
                    format!(
                        "variants `{other}` and `{}` of {what} both become `{}`",
                        v.key.value, v.ident
                    ),
                )
                .with_code("identifier-collision")
                .with_related(*first, format!("`{other}` is here"))
                .with_help("rename one of them"),
            );
            continue;
        }
        seen.insert(v.ident.clone(), (v.key.pos, v.key.value.clone()));
    }
    let sum: u32 = flag.variants.iter().map(|v| v.rollout.value).sum();
    // A dropped entry (duplicate, bad percentage) was reported already; a sum would mislead.
    if flag.variants_complete && !flag.variants.is_empty() && sum != 100 {
        diags.push(
            Diagnostic::error(
                pos,
                format!("the variant rollouts of {what} sum to {sum}, not 100"),
            )
            .with_code("variant-sum")
            .with_help(format!(
                "adjust the percentages by {}{} so they add up to 100",
                if sum > 100 { "-" } else { "+" },
                sum.abs_diff(100)
            )),
        );
    }
}

fn check_payloads(flag: &Flag, diags: &mut Vec<Diagnostic>) {
    for p in &flag.payloads {
        let ok = if flag.is_multivariate() {
            flag.variants.iter().any(|v| v.key.value == p.key.value)
        } else {
            p.key.value == "true"
        };
        if !ok {
            let help = if flag.is_multivariate() {
                let names: Vec<&str> = flag.variants.iter().map(|v| v.key.value.as_str()).collect();
                format!("payload keys are variants: {}", names.join(", "))
            } else {
                "a boolean flag has one payload, under `true`".to_string()
            };
            diags.push(
                Diagnostic::error(
                    p.key.pos,
                    format!(
                        "payload `{}` of flag `{}` matches no value of the flag",
                        p.key.value, flag.key.value
                    ),
                )
                .with_code("bad-payload-key")
                .with_help(help),
            );
        }
    }
}

fn check_dates(flag: &Flag, diags: &mut Vec<Diagnostic>) {
    if let (Some(created), Some(expires)) = (&flag.created, &flag.expires)
        && expires.value < created.value
    {
        diags.push(
            Diagnostic::error(
                expires.pos,
                format!(
                    "flag `{}` expires ({}) before it was created ({})",
                    flag.key.value, expires.value, created.value
                ),
            )
            .with_code("expires-before-created")
            .with_related(created.pos, "created here")
            .with_help("set `expires` on or after `created`"),
        );
    }
}
