//! The emulator's state: flags, activity, experiments, events, knobs, the request log and the
//! throttle history. Everything a dump holds is `Serialize`; the log and throttle are not dumped.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use flags_codegen::date::Date;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A stored feature flag.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct Flag {
    pub(crate) id: i64,
    pub(crate) key: String,
    pub(crate) name: String,
    pub(crate) filters: Value,
    pub(crate) active: bool,
    pub(crate) archived: bool,
    pub(crate) deleted: bool,
    pub(crate) tags: Vec<String>,
    pub(crate) version: i64,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    #[serde(default)]
    pub(crate) ensure_experience_continuity: bool,
}

/// A stored activity-log entry.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct Activity {
    pub(crate) id: i64,
    pub(crate) flag_id: i64,
    pub(crate) key: String,
    pub(crate) activity: String,
    pub(crate) changes: Vec<Value>,
    pub(crate) created_at: i64,
}

/// A stored experiment.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct Experiment {
    pub(crate) id: i64,
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) description: String,
    pub(crate) feature_flag_key: String,
    #[serde(default)]
    pub(crate) start_date: Option<String>,
    #[serde(default)]
    pub(crate) end_date: Option<String>,
    #[serde(default)]
    pub(crate) archived: bool,
    #[serde(default)]
    pub(crate) deleted: bool,
    pub(crate) created_at: i64,
}

/// A stored event.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct Event {
    pub(crate) uuid: String,
    pub(crate) event: String,
    pub(crate) distinct_id: String,
    pub(crate) properties: Map<String, Value>,
    /// Milliseconds since the epoch.
    pub(crate) timestamp: i64,
}

/// One sliding-window limit of the emulated throttles.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct Window {
    /// Requests allowed in the window.
    pub max: u32,
    /// Window length in seconds.
    pub per_secs: f64,
}

/// PostHog's rate limits, as the emulator enforces them (defaults: PostHog's own).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct RateLimits {
    /// CRUD endpoints (default 480/minute and 4,800/hour).
    pub crud: Vec<Window>,
    /// `POST /query/` with a HogQL query (default 120/hour).
    pub query: Vec<Window>,
    /// Everything else of the query viewset, polls included: PostHog's ClickHouse throttles
    /// (default 240/minute and 1,200/hour).
    pub clickhouse: Vec<Window>,
    /// `/flags/definitions` (default 600/minute).
    pub definitions: Vec<Window>,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            crud: vec![
                Window {
                    max: 480,
                    per_secs: 60.0,
                },
                Window {
                    max: 4_800,
                    per_secs: 3_600.0,
                },
            ],
            query: vec![Window {
                max: 120,
                per_secs: 3_600.0,
            }],
            clickhouse: vec![
                Window {
                    max: 240,
                    per_secs: 60.0,
                },
                Window {
                    max: 1_200,
                    per_secs: 3_600.0,
                },
            ],
            definitions: vec![Window {
                max: 600,
                per_secs: 60.0,
            }],
        }
    }
}

/// What a fault does to a request.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer 500 without processing.
    Status500,
    /// Answer 502 (a proxy's bad gateway) without processing.
    Status502,
    /// Close the connection without processing or answering.
    Reset,
    /// Process the request, then close the connection without answering (the answer is lost).
    ResetAfterProcessing,
}

/// Which requests fail, and how.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Faults {
    /// What happens to a failing request.
    pub kind: FaultKind,
    /// Every k-th request (counting API requests, not `/_emulator/`) fails.
    #[serde(default)]
    pub every: Option<u64>,
    /// Each request fails with this probability, drawn from a generator seeded with `seed`.
    #[serde(default)]
    pub probability: Option<f64>,
    /// Seed for `probability`.
    #[serde(default)]
    pub seed: u64,
    /// Only requests whose path or body contains this text can fail (and only they are counted
    /// for `every`), so a test can break the writes of one flag and let the rest through.
    #[serde(default)]
    pub matching: Option<String>,
}

/// Behaviour switches, settable at `PUT /_emulator/knobs` (a partial object merges) or from Rust.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Knobs {
    /// Added to every API request.
    pub latency_ms: u64,
    /// Latency for some routes instead of `latency_ms`, keyed like the request log's counts
    /// (`"POST /api/projects/{id}/feature_flags/"`).
    pub route_latency_ms: BTreeMap<String, u64>,
    /// Enforce PostHog's rate limits (`None`: no limits).
    pub rate_limits: Option<RateLimits>,
    /// Add a `Retry-After` header to 429s (PostHog sends none).
    pub retry_after_header: bool,
    /// Faults to inject.
    pub faults: Option<Faults>,
    /// Over quota: `/flags/definitions` answers 402 and `/flags` answers `quotaLimited`.
    pub quota_limited: bool,
    /// Answer queries with 202 and complete them after this many polls (0: answer at once,
    /// unless the request asks for `refresh: "async"`, which takes one poll).
    pub query_async_polls: u32,
    /// Record tag changes made by `PATCH` in the flag's activity (PostHog probably does not).
    pub record_patch_tags: bool,
    /// A broken server: every `next` link of the flag list points back at the first page, so a
    /// client that does not guard against a repeated cursor loops forever.
    pub repeat_cursor: bool,
    /// Keys of flags an approval policy guards: every `PATCH` to them answers 409 and changes
    /// nothing (PostHog opens a change request instead).
    pub approval_required: Vec<String>,
    /// The Slack webhook sink (`POST /hooks/slack/…`) answers with this status instead of 200
    /// (e.g. 500, or 404 `no_service` as Slack does for a revoked webhook).
    pub slack_status: Option<u16>,
}

/// One logged request.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LoggedRequest {
    /// HTTP method.
    pub method: String,
    /// Route template, e.g. `/api/projects/{id}/feature_flags/`.
    pub route: String,
    /// Status answered (0 for a dropped connection).
    pub status: u16,
    /// The fault injected, if any.
    pub fault: Option<FaultKind>,
}

/// The request log: every API request, and counts per route and status.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct RequestLog {
    /// Requests in arrival order (at most the last 100,000).
    pub requests: Vec<LoggedRequest>,
    /// `"METHOD route"` → count.
    pub counts: BTreeMap<String, u64>,
    /// Status → count (`"0"` for dropped connections).
    pub statuses: BTreeMap<String, u64>,
    /// Most API requests being handled at the same moment (latency included).
    pub max_in_flight: u32,
}

impl RequestLog {
    /// How many requests `"METHOD route"` received.
    pub fn count(&self, method_route: &str) -> u64 {
        self.counts.get(method_route).copied().unwrap_or(0)
    }

    /// How many answers had this status.
    pub fn status_count(&self, status: u16) -> u64 {
        self.statuses.get(&status.to_string()).copied().unwrap_or(0)
    }

    /// All requests received.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    pub(crate) fn record(&mut self, entry: LoggedRequest) {
        *self
            .counts
            .entry(format!("{} {}", entry.method, entry.route))
            .or_default() += 1;
        *self.statuses.entry(entry.status.to_string()).or_default() += 1;
        if self.requests.len() >= 100_000 {
            self.requests.remove(0);
        }
        self.requests.push(entry);
    }
}

/// Throttle classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Throttle {
    Crud,
    Query,
    ClickHouse,
    Definitions,
}

/// A pending asynchronous query.
#[derive(Clone, Debug)]
pub(crate) struct PendingQuery {
    pub(crate) polls_left: u32,
    pub(crate) result: Result<Value, (u16, Value)>,
}

/// The whole state.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct State {
    pub(crate) flags: Vec<Flag>,
    pub(crate) activity: Vec<Activity>,
    pub(crate) experiments: Vec<Experiment>,
    pub(crate) events: Vec<Event>,
    /// Messages posted to the Slack webhook sink, in arrival order.
    #[serde(default)]
    pub(crate) slack: Vec<Value>,
    pub(crate) next_id: i64,
    pub(crate) knobs: Knobs,
    #[serde(skip)]
    pub(crate) event_uuids: HashSet<String>,
    #[serde(skip)]
    pub(crate) log: RequestLog,
    #[serde(skip)]
    pub(crate) throttle: HashMap<(String, Throttle), Vec<VecDeque<f64>>>,
    #[serde(skip)]
    pub(crate) queries: HashMap<String, PendingQuery>,
    #[serde(skip)]
    pub(crate) request_counter: u64,
    #[serde(skip)]
    pub(crate) rng: Option<u64>,
    /// API requests being handled now.
    #[serde(skip)]
    pub(crate) in_flight: u32,
    /// Last timestamp handed out, so timestamps strictly increase.
    #[serde(skip)]
    pub(crate) last_ms: i64,
}

impl State {
    /// A fresh id (flags, activity, experiments share one sequence, like separate tables would
    /// not; uniqueness is all that matters).
    pub(crate) fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    /// Now, in ms, strictly increasing across calls so "newest first" is well defined.
    pub(crate) fn now_ms(&mut self) -> i64 {
        let now = now_ms().max(self.last_ms + 1);
        self.last_ms = now;
        now
    }

    /// Rebuilds the derived indexes after a load.
    pub(crate) fn reindex(&mut self) {
        self.event_uuids = self.events.iter().map(|e| e.uuid.clone()).collect();
        self.next_id = self
            .next_id
            .max(self.flags.iter().map(|f| f.id).max().unwrap_or(0))
            .max(self.activity.iter().map(|a| a.id).max().unwrap_or(0))
            .max(self.experiments.iter().map(|e| e.id).max().unwrap_or(0));
    }

    /// Records a request in `class`'s windows for `key` (DRF's `SimpleRateThrottle`): `None` if
    /// allowed, else the wait in seconds DRF would state.
    pub(crate) fn throttle(&mut self, key: &str, class: Throttle) -> Option<f64> {
        let limits = self.knobs.rate_limits.clone()?;
        let windows = match class {
            Throttle::Crud => limits.crud,
            Throttle::Query => limits.query,
            Throttle::ClickHouse => limits.clickhouse,
            Throttle::Definitions => limits.definitions,
        };
        let now = mono_secs();
        let history = self.throttle.entry((key.to_owned(), class)).or_default();
        history.resize_with(windows.len(), VecDeque::new);
        let mut wait: Option<f64> = None;
        for (w, h) in windows.iter().zip(history.iter_mut()) {
            while h.back().is_some_and(|&t| t <= now - w.per_secs) {
                h.pop_back();
            }
            if h.len() as u64 >= u64::from(w.max) {
                // DRF: remaining = duration - (now - oldest); available = max - len + 1.
                let oldest = h.back().copied().unwrap_or(now);
                let remaining = w.per_secs - (now - oldest);
                let available = (f64::from(w.max) - h.len() as f64 + 1.0).max(1.0);
                let this = remaining / available;
                wait = Some(wait.map_or(this, |x| x.max(this)));
            }
        }
        if wait.is_some() {
            return wait;
        }
        for h in history.iter_mut() {
            h.push_front(now);
        }
        None
    }

    /// Whether this API request (`path`, `body`) gets a fault, and which.
    pub(crate) fn fault(&mut self, path: &str, body: &[u8]) -> Option<FaultKind> {
        let f = self.knobs.faults.clone()?;
        if let Some(text) = f.matching.as_deref()
            && !path.contains(text)
            && !String::from_utf8_lossy(body).contains(text)
        {
            return None;
        }
        self.request_counter += 1;
        if let Some(k) = f.every
            && k > 0
            && self.request_counter.is_multiple_of(k)
        {
            return Some(f.kind);
        }
        if let Some(p) = f.probability {
            let state = self.rng.get_or_insert(f.seed ^ 0x9E37_79B9_7F4A_7C15);
            if next_f64(state) < p {
                return Some(f.kind);
            }
        }
        None
    }
}

/// splitmix64 → [0, 1).
fn next_f64(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Seconds on a monotonic clock (tokio's, so paused-time tests work).
fn mono_secs() -> f64 {
    use std::sync::OnceLock;
    static START: OnceLock<tokio::time::Instant> = OnceLock::new();
    let start = *START.get_or_init(tokio::time::Instant::now);
    tokio::time::Instant::now()
        .saturating_duration_since(start)
        .as_secs_f64()
        + 1.0e6
}

/// Wall-clock milliseconds since the epoch.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis() as i64
}

/// `2026-04-15T21:49:19.123000Z` (PostHog's format, microseconds).
pub(crate) fn iso(ms: i64) -> String {
    let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let date = Date::from_days_since_epoch(days);
    let (h, rem) = (rem / 3_600_000, rem % 3_600_000);
    let (mi, rem) = (rem / 60_000, rem % 60_000);
    let (s, milli) = (rem / 1000, rem % 1000);
    format!("{date}T{h:02}:{mi:02}:{s:02}.{milli:03}000Z")
}

/// Parses ISO 8601 / RFC 3339 (`2026-04-15`, `2026-04-15T21:49:19`, fractions, `Z` or `±HH:MM`,
/// a space instead of `T`) into ms since the epoch. Like HogQL's `toDateTime`, anything else is
/// `None`.
pub(crate) fn parse_iso(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    // The calendar part is the registry's own date type (which also rejects 2026-02-30).
    let date = Date::parse(s.get(0..10)?).ok()?;
    let mut ms = date.days_since_epoch() * 86_400_000;
    if b.len() == 10 {
        return Some(ms);
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    ms += h * 3_600_000 + mi * 60_000 + sec * 1000;
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let frac = s.get(start..i)?;
        if frac.is_empty() {
            return None;
        }
        let padded: String = frac.chars().chain("000".chars()).take(3).collect();
        ms += padded.parse::<i64>().ok()?;
    }
    match s.get(i..)? {
        "" | "Z" | "z" => Some(ms),
        tz if tz.len() == 6
            && (tz.starts_with('+') || tz.starts_with('-'))
            && tz.as_bytes()[3] == b':' =>
        {
            let oh: i64 = tz.get(1..3)?.parse().ok()?;
            let om: i64 = tz.get(4..6)?.parse().ok()?;
            let off = (oh * 60 + om) * 60_000;
            Some(if tz.starts_with('+') {
                ms - off
            } else {
                ms + off
            })
        }
        _ => None,
    }
}

/// PostHog's tag normalisation: trim, lower-case, drop blanks, de-duplicate (sorted here).
pub(crate) fn normalize_tags(tags: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = tags
        .iter()
        .filter_map(Value::as_str)
        .map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trips() {
        for ms in [0, 1_713_200_000_123, 951_782_400_000 /* 2000-02-29 */] {
            assert_eq!(parse_iso(&iso(ms)), Some(ms));
        }
        assert_eq!(parse_iso("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_iso("1970-01-02"), Some(86_400_000));
        assert_eq!(parse_iso("yesterday"), None);
        assert_eq!(parse_iso("2026-02-30"), None);
        assert_eq!(
            parse_iso("2026-01-01T00:00:00+0\u{e9}00"),
            None,
            "no panic on a multi-byte offset"
        );
        assert_eq!(parse_iso("2026-01-01T00:00:00.\u{e9}"), None);
        assert_eq!(iso(0), "1970-01-01T00:00:00.000000Z");
    }

    #[test]
    fn tags_are_trimmed_lowercased_and_deduplicated() {
        let tags = [
            Value::from(" Guardian"),
            Value::from("guardian "),
            Value::from(""),
            Value::from("B"),
        ];
        assert_eq!(
            normalize_tags(&tags),
            vec!["b".to_string(), "guardian".to_string()]
        );
    }
}
