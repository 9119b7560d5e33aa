//! Ended experiments: the flags they release, and when.
//!
//! In PostHog an experiment is a draft until it has a `start_date`, runs until it has an
//! `end_date` (set when someone ends it; the experiments list's `status=complete` filter means
//! exactly "`end_date` set"), and archived experiments are hidden from the list unless asked for.
//! A flag counts as released by its experiments when at least one launched experiment on it has
//! ended and none is still running (a flag reused for a new experiment is not done). The day
//! recorded is the latest end date. An end date after `today` has not happened yet.

use std::collections::HashMap;

use crate::client::Experiment;
use crate::registry::Date;

/// The date part of an ISO 8601 timestamp (`2026-11-02T10:00:00Z` → 2026-11-02).
pub fn date_of(timestamp: &str) -> Option<Date> {
    timestamp.get(..10).and_then(|d| Date::parse(d).ok())
}

/// What the experiments say about one flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// A launched experiment has not ended.
    Running,
    /// Every launched experiment has ended; the latest end.
    Ended(Date),
}

/// Flag key → the day its last experiment ended, for flags whose launched experiments have all
/// ended by `today`. Archived experiments are skipped (pass the default list, which hides them;
/// any that slip through are ignored here too).
pub fn ended_by_flag(experiments: &[Experiment], today: Date) -> HashMap<String, Date> {
    let mut states: HashMap<&str, State> = HashMap::new();
    for e in experiments {
        if e.archived || e.feature_flag_key.is_empty() || e.start_date.is_none() {
            continue;
        }
        let ended = e
            .end_date
            .as_deref()
            .and_then(date_of)
            .filter(|d| *d <= today);
        let state = match ended {
            Some(d) => State::Ended(d),
            None => State::Running,
        };
        let merged = match (states.get(e.feature_flag_key.as_str()), state) {
            (None, s) => s,
            (Some(State::Running), _) | (_, State::Running) => State::Running,
            (Some(State::Ended(a)), State::Ended(b)) => State::Ended((*a).max(b)),
        };
        states.insert(e.feature_flag_key.as_str(), merged);
    }
    states
        .into_iter()
        .filter_map(|(k, s)| match s {
            State::Ended(d) => Some((k.to_owned(), d)),
            State::Running => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exp(key: &str, start: Option<&str>, end: Option<&str>, archived: bool) -> Experiment {
        serde_json::from_value(serde_json::json!({
            "id": 1, "name": "e", "feature_flag_key": key, "start_date": start,
            "end_date": end, "archived": archived,
        }))
        .expect("experiment")
    }

    #[test]
    fn only_flags_whose_experiments_all_ended_count() {
        let today = Date::parse("2026-11-21").expect("date");
        let s = Some("2026-09-01T00:00:00Z");
        let list = [
            exp("done", s, Some("2026-10-01T12:00:00Z"), false),
            exp("done", s, Some("2026-10-05T08:00:00Z"), false),
            exp("reused", s, Some("2026-10-01T12:00:00Z"), false),
            exp("reused", s, None, false),
            exp("draft", None, None, false),
            exp("future", s, Some("2026-12-01T00:00:00Z"), false),
            exp("archived", s, Some("2026-10-01T00:00:00Z"), true),
        ];
        let ended = ended_by_flag(&list, today);
        assert_eq!(ended.len(), 1, "{ended:?}");
        assert_eq!(ended["done"], Date::parse("2026-10-05").expect("date"));
    }
}
