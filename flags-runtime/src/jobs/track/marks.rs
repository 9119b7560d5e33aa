//! What track remembers between runs, kept as tags on the flag in PostHog.
//!
//! The flag list already returns every flag's tags, so reading the marks back costs no request
//! at all (PostHog's activity log does not record tag edits made by `PATCH`, and reading it per
//! flag is what made the toolkit's runs grow with every released flag).
//!
//! | tag | meaning |
//! |---|---|
//! | `released-detected-v1` | track has seen the flag released (the toolkit's tag, kept) |
//! | `released-at:2026-11-21` | the day it was first seen released (or its experiment ended) |
//! | `stale-notified:2026-11` | the month of the last stale notice |
//!
//! The values survive PostHog's tag normalisation (trimmed, lower-cased, no spaces, well under
//! 255 characters). Remove both release tags to make track detect a flag's release again.

use crate::jobs::inventory::normalize_tag;
use crate::registry::Date;

/// Marks a flag as seen released.
pub const RELEASED_TAG: &str = "released-detected-v1";
/// Prefix of the tag holding the day a flag was first seen released.
pub const RELEASED_AT_PREFIX: &str = "released-at:";
/// Prefix of the tag holding the month of the last stale notice.
pub const STALE_NOTIFIED_PREFIX: &str = "stale-notified:";

/// A calendar month, as `stale-notified:` stores it (`2026-11`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    /// Year.
    pub year: i32,
    /// Month, 1 to 12.
    pub month: u8,
}

impl Month {
    /// The month `date` falls in.
    pub fn of(date: Date) -> Month {
        Month {
            year: date.year(),
            month: date.month(),
        }
    }

    /// Parses `YYYY-MM`.
    pub fn parse(text: &str) -> Option<Month> {
        let (y, m) = text.split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let year = y.parse().ok()?;
        let month: u8 = m.parse().ok()?;
        (1..=12).contains(&month).then_some(Month { year, month })
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// The tag recording that a flag was first seen released on `date`.
pub fn released_at_tag(date: Date) -> String {
    format!("{RELEASED_AT_PREFIX}{date}")
}

/// The tag recording a stale notice in `month`.
pub fn stale_notified_tag(month: Month) -> String {
    format!("{STALE_NOTIFIED_PREFIX}{month}")
}

/// The marks found on one flag's tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Marks {
    /// `released-detected-v1` is present.
    pub released: bool,
    /// The earliest `released-at:` date (several appear only if two runs raced).
    pub released_at: Option<Date>,
    /// The latest `stale-notified:` month.
    pub stale_notified: Option<Month>,
    /// Every `stale-notified:` tag, as stored (to remove the old ones on a new notice).
    pub stale_tags: Vec<String>,
}

impl Marks {
    /// Reads the marks from a flag's tags (PostHog stores them lower-cased and trimmed;
    /// unreadable values are ignored).
    pub fn from_tags<S: AsRef<str>>(tags: &[S]) -> Marks {
        let mut marks = Marks::default();
        for tag in tags {
            let tag = normalize_tag(tag.as_ref());
            let tag = tag.as_str();
            if tag == RELEASED_TAG {
                marks.released = true;
            } else if let Some(day) = tag.strip_prefix(RELEASED_AT_PREFIX) {
                if let Ok(d) = Date::parse(day) {
                    marks.released_at = Some(marks.released_at.map_or(d, |e| e.min(d)));
                }
            } else if let Some(month) = tag.strip_prefix(STALE_NOTIFIED_PREFIX) {
                marks.stale_tags.push(tag.to_owned());
                if let Some(m) = Month::parse(month) {
                    marks.stale_notified = Some(marks.stale_notified.map_or(m, |e| e.max(m)));
                }
            }
        }
        marks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Date {
        Date::parse(s).expect("date")
    }

    #[test]
    fn marks_read_back_from_tags() {
        let m = Marks::from_tags(&[
            "studio",
            "released-detected-v1",
            "released-at:2026-11-21",
            "released-at:2026-11-20",
            "stale-notified:2026-10",
            "stale-notified:2026-12",
            "released-at:not-a-date",
        ]);
        assert!(m.released);
        assert_eq!(m.released_at, Some(day("2026-11-20")));
        assert_eq!(m.stale_notified, Some(Month::of(day("2026-12-01"))));
        assert_eq!(m.stale_tags.len(), 2);
        assert_eq!(Marks::from_tags::<&str>(&[]), Marks::default());
    }

    #[test]
    fn tags_are_already_in_posthogs_normal_form() {
        for tag in [
            released_at_tag(day("2026-01-05")),
            stale_notified_tag(Month::of(day("2026-01-05"))),
            RELEASED_TAG.to_owned(),
        ] {
            assert_eq!(tag, tag.trim().to_lowercase());
            assert!(!tag.contains(' '));
        }
        assert_eq!(released_at_tag(day("2026-01-05")), "released-at:2026-01-05");
        assert_eq!(
            stale_notified_tag(Month::of(day("2026-01-05"))),
            "stale-notified:2026-01"
        );
        assert_eq!(Month::parse("2026-13"), None);
    }
}
