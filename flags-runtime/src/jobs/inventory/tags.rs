//! The tag convention: tags as PostHog stores them, and the metadata tags that make a flag's
//! owner, backup owner, lifecycle, expiry and guardian settings visible in PostHog.
//!
//! PostHog stores every tag trimmed and lower-cased (`tagify` in `posthog/models/tag.py`:
//! `tag.strip().lower()`), drops blanks and de-duplicates. Every comparison here goes through
//! [`normalize_tag`], so `Studio` in `flags.yaml` and `studio` in PostHog are the same tag and a
//! second sync writes nothing. Metadata tags are built from lower-case prefixes, contain no
//! whitespace (older PostHog versions refuse tags with spaces) and mean the same after
//! lower-casing (`owner:@Ana` is stored as `owner:@ana`, which still names the same handle).

use std::collections::BTreeSet;

use crate::registry::FlagDefinition;

/// Exempts a PostHog flag from the naming convention check.
pub const NAMING_EXEMPT: &str = "naming-exempt";
/// The flag is watched by the guard job (the yaml's `guardian` is enabled).
pub const GUARDIAN: &str = "guardian";
/// The guard job may disable the flag on a regression (the yaml's `guardian.enforce`).
pub const GUARDIAN_ENFORCE: &str = "guardian-enforce";
/// Prefix of the owner tag: `owner:@ana`.
pub const OWNER_PREFIX: &str = "owner:";
/// Prefix of the backup-owner tag: `backup-owner:@bob`.
pub const BACKUP_OWNER_PREFIX: &str = "backup-owner:";
/// Prefix of the lifecycle tag: `lifecycle:release`.
pub const LIFECYCLE_PREFIX: &str = "lifecycle:";
/// Prefix of the expiry tag: `expires:2027-01-31`.
pub const EXPIRES_PREFIX: &str = "expires:";

/// The prefixes of the metadata tags that carry one value each.
pub const METADATA_PREFIXES: [&str; 4] = [
    OWNER_PREFIX,
    BACKUP_OWNER_PREFIX,
    LIFECYCLE_PREFIX,
    EXPIRES_PREFIX,
];

/// A tag as PostHog stores it: trimmed and lower-cased.
pub fn normalize_tag(tag: &str) -> String {
    tag.trim().to_lowercase()
}

/// A set of tags as PostHog stores them: normalised, blanks dropped, de-duplicated.
pub fn normalize_tags<'a>(tags: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    tags.into_iter()
        .map(normalize_tag)
        .filter(|t| !t.is_empty())
        .collect()
}

/// Whether `tags` (as PostHog returned them) contain `tag`, compared as PostHog stores tags.
pub fn has_tag<S: AsRef<str>>(tags: &[S], tag: &str) -> bool {
    let wanted = normalize_tag(tag);
    tags.iter().any(|t| normalize_tag(t.as_ref()) == wanted)
}

/// The value of the first metadata tag with `prefix` (`owner:` → `@ana`), normalised.
pub fn tag_value<S: AsRef<str>>(tags: &[S], prefix: &str) -> Option<String> {
    tags.iter()
        .map(|t| normalize_tag(t.as_ref()))
        .find_map(|t| t.strip_prefix(prefix).map(str::to_owned))
        .filter(|v| !v.is_empty())
}

/// The owner a PostHog flag names in its `owner:` tag (for flags the registry does not know).
pub fn owner_from_tags<S: AsRef<str>>(tags: &[S]) -> Option<String> {
    tag_value(tags, OWNER_PREFIX)
}

/// The backup owner a PostHog flag names in its `backup-owner:` tag.
pub fn backup_owner_from_tags<S: AsRef<str>>(tags: &[S]) -> Option<String> {
    tag_value(tags, BACKUP_OWNER_PREFIX)
}

/// The metadata tags the registry asks for on `def`, normalised: owner, backup owner,
/// lifecycle, expiry, and `guardian`/`guardian-enforce` where the yaml enables them.
pub fn metadata_tags(def: &FlagDefinition) -> Vec<String> {
    let mut tags = vec![normalize_tag(&format!("{OWNER_PREFIX}{}", def.owner))];
    if let Some(backup) = def.backup_owner {
        tags.push(normalize_tag(&format!("{BACKUP_OWNER_PREFIX}{backup}")));
    }
    if let Some(lifecycle) = def.lifecycle {
        tags.push(normalize_tag(&format!("{LIFECYCLE_PREFIX}{lifecycle}")));
    }
    if let Some(expires) = def.expires {
        tags.push(format!("{EXPIRES_PREFIX}{expires}"));
    }
    if let Some(guardian) = def.guardian.filter(|g| g.enabled) {
        tags.push(GUARDIAN.to_owned());
        if guardian.enforce {
            tags.push(GUARDIAN_ENFORCE.to_owned());
        }
    }
    tags
}

/// Every tag the registry asks for on `def` (its own tags plus [`metadata_tags`]), as PostHog
/// would store them.
pub fn desired_tags(def: &FlagDefinition) -> BTreeSet<String> {
    let mut tags = normalize_tags(def.tags.iter().copied());
    tags.extend(metadata_tags(def));
    tags
}

/// Metadata tags on a PostHog flag that contradict the registry: an `owner:`, `backup-owner:`,
/// `lifecycle:` or `expires:` tag with another value, or `guardian`/`guardian-enforce` the yaml
/// no longer asks for. Sync only ever adds tags, so these stay until someone removes them.
pub fn stale_metadata_tags<S: AsRef<str>>(def: &FlagDefinition, posthog_tags: &[S]) -> Vec<String> {
    let desired = desired_tags(def);
    let mut stale: Vec<String> = normalize_tags(posthog_tags.iter().map(AsRef::as_ref))
        .into_iter()
        .filter(|t| !desired.contains(t))
        .filter(|t| {
            t == GUARDIAN
                || t == GUARDIAN_ENFORCE
                || METADATA_PREFIXES.iter().any(|p| t.starts_with(p))
        })
        .collect();
    stale.sort();
    stale
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{DefaultValue, FlagKind, GuardianDefinition};

    fn def() -> FlagDefinition {
        FlagDefinition {
            key: "release_studio_new_editor",
            rust_name: "ReleaseStudioNewEditor",
            description: "d",
            owner: "@Ana",
            backup_owner: Some("Bob@Example.com"),
            tags: &[" Studio", "studio", ""],
            lifecycle: Some("release"),
            area: Some("studio"),
            kind: FlagKind::Boolean,
            default: DefaultValue::Bool(false),
            variants: &[],
            payloads: &[],
            created: None,
            expires: flags_codegen::date::Date::parse("2027-01-31").ok(),
            ticket: None,
            rollback: None,
            surfaces: &[],
            guardian: Some(GuardianDefinition {
                enabled: true,
                enforce: true,
                alpha: 0.05,
                metrics: &[],
            }),
            archived: false,
            line: 3,
        }
    }

    #[test]
    fn desired_tags_are_stored_forms_with_metadata() {
        let tags: Vec<String> = desired_tags(&def()).into_iter().collect();
        assert_eq!(
            tags,
            [
                "backup-owner:bob@example.com",
                "expires:2027-01-31",
                "guardian",
                "guardian-enforce",
                "lifecycle:release",
                "owner:@ana",
                "studio",
            ]
        );
        for t in &tags {
            assert_eq!(&normalize_tag(t), t, "survives PostHog's lower-casing");
            assert!(!t.contains(char::is_whitespace));
        }
    }

    #[test]
    fn owners_read_back_from_tags() {
        let tags = ["Owner:@Ana ", "backup-owner:@bob"];
        assert_eq!(owner_from_tags(&tags).as_deref(), Some("@ana"));
        assert_eq!(backup_owner_from_tags(&tags).as_deref(), Some("@bob"));
        assert_eq!(owner_from_tags(&["owner:"]), None);
        assert!(has_tag(&[" Naming-Exempt"], NAMING_EXEMPT));
    }

    #[test]
    fn stale_metadata_is_what_contradicts_the_registry() {
        let posthog = [
            "owner:@old",
            "owner:@ana",
            "expires:2026-12-01",
            "guardian",
            "unrelated",
        ];
        let mut d = def();
        d.guardian = None;
        assert_eq!(
            stale_metadata_tags(&d, &posthog),
            ["expires:2026-12-01", "guardian", "owner:@old"]
        );
    }
}
