//! HogQL queries (`POST /api/projects/:id/query/`), the 202-then-poll path, and the one query
//! the guard job sends.

use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Client, Error, LimitClass, QueryResponse, Result};

const ROUTE_QUERY: &str = "/api/projects/{project_id}/query/";
const ROUTE_QUERY_STATUS: &str = "/api/projects/{project_id}/query/{query_id}/";

/// The guard job's single HogQL query: for every guarded flag at once, who was exposed to which
/// variant, and what happened to each of them afterwards. All user data (flag keys, event and
/// property names, times) travels in `values` placeholders, never in the text.
///
/// Placeholders (see [`GuardQuery`]):
/// - `{flag_keys}` and `{flag_since}`: parallel lists, each flag's key and the start of its
///   window (ISO 8601); `{since}` (the earliest of them) and `{until}` (excluded) bound the scan;
/// - `{outcome_events}` and `{outcome_success_properties}`: parallel lists, one entry per
///   *outcome*: an event name and the property that marks it successful (`''`: none). Outcome
///   `i` (1-based, as HogQL arrays are) is the row's `outcome` column.
///
/// Semantics, which the emulator computes from its stored events:
/// - an **exposure** is a `$feature_flag_called` event in `[flag_since, until)` of its flag, by
///   `properties.$feature_flag` (which PostHog keeps even in minimal exposure events, unlike
///   `$feature/<key>`); its arm is `toString(properties.$feature_flag_response)`. A person is
///   exposed from their first such event on; a person seen in two arms of one flag lands in the
///   arm `$multiple` (kept out of every comparison, reported);
/// - an **outcome** is an event in `[since, until)` whose name is outcome `i`'s event, by an
///   exposed person, at or after their first exposure. It is a **success** when the outcome has
///   no success property, or when that property's raw JSON is `true`, `1` or `"true"`;
/// - one row per `(flag, arm, outcome)`, for every outcome (also those nobody sent), ordered
///   that way, with per-person sums (`n` outcome events and `s` successes per person):
///   `users` (persons), `exposure_events`, `users_with_events` (`n > 0`), `events` (`Σn`),
///   `successes` (`Σs`), `events_squared` (`Σn²`), `successes_squared` (`Σs²`) and
///   `events_by_successes` (`Σn·s`), which give a clustered variance for every rate.
///
/// Persons are `person_id`, PostHog's person behind each distinct id. Property names inside
/// brackets must be constants for HogQL to resolve them (``properties[`…`]`` and non-constant
/// keys fail), so the per-outcome success property is read with `JSONExtractRaw(properties, …)`.
/// Every function used is in HogQL's function list; the text has not been run against a live
/// PostHog.
pub const GUARD_QUERY: &str = "\
SELECT
    x.flag AS flag,
    x.variant AS variant,
    x.outcome AS outcome,
    count() AS users,
    sum(x.exposures) AS exposure_events,
    countIf(x.n > 0) AS users_with_events,
    sum(x.n) AS events,
    sum(x.s) AS successes,
    sum(x.n * x.n) AS events_squared,
    sum(x.s * x.s) AS successes_squared,
    sum(x.n * x.s) AS events_by_successes
FROM (
    SELECT
        e.flag AS flag,
        e.variant AS variant,
        e.person_id AS person_id,
        e.outcome AS outcome,
        any(e.exposures) AS exposures,
        countIf(o.outcome = e.outcome AND o.timestamp >= e.first_exposed_at) AS n,
        countIf(o.outcome = e.outcome AND o.timestamp >= e.first_exposed_at AND o.success = 1) AS s
    FROM (
        SELECT
            flag, variant, person_id, first_exposed_at, exposures,
            arrayJoin(arrayEnumerate({outcome_events})) AS outcome
        FROM (
            SELECT
                toString(properties.$feature_flag) AS flag,
                if(uniqExact(toString(properties.$feature_flag_response)) > 1, '$multiple',
                    min(toString(properties.$feature_flag_response))) AS variant,
                person_id,
                min(timestamp) AS first_exposed_at,
                count() AS exposures
            FROM events
            WHERE event = '$feature_flag_called'
                AND has({flag_keys}, toString(properties.$feature_flag))
                AND timestamp >= toDateTime(arrayElement({flag_since}, indexOf({flag_keys}, toString(properties.$feature_flag))))
                AND timestamp < toDateTime({until})
            GROUP BY flag, person_id
        )
    ) AS e
    LEFT JOIN (
        SELECT
            person_id,
            timestamp,
            arrayJoin(arrayFilter(i -> arrayElement({outcome_events}, i) = event, arrayEnumerate({outcome_events}))) AS outcome,
            if(arrayElement({outcome_success_properties}, outcome) = '', 1,
                if(JSONExtractRaw(properties, arrayElement({outcome_success_properties}, outcome)) IN ('true', '1', '\"true\"'), 1, 0)) AS success
        FROM events
        WHERE has({outcome_events}, event)
            AND timestamp >= toDateTime({since})
            AND timestamp < toDateTime({until})
    ) AS o ON o.person_id = e.person_id
    GROUP BY flag, variant, person_id, outcome
) AS x
GROUP BY flag, variant, outcome
ORDER BY flag, variant, outcome
LIMIT 50000";

/// The arm of persons exposed to more than one variant of a flag (see [`GUARD_QUERY`]).
pub const MULTIPLE_VARIANTS: &str = "$multiple";

/// One outcome the guard query counts: an event, and the property marking it successful.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GuardOutcome {
    /// Event name (`$exception`, or a guardrail metric's event).
    pub event: String,
    /// Property whose value `true` marks a successful event (`None`: every event counts).
    pub success_property: Option<String>,
}

/// The values for [`GUARD_QUERY`].
#[derive(Clone, Debug, PartialEq)]
pub struct GuardQuery {
    /// Each guarded flag's key and the start of its window (ISO 8601, included).
    pub flags: Vec<(String, String)>,
    /// The outcomes; a row's `outcome` is an index into this list, from 1.
    pub outcomes: Vec<GuardOutcome>,
    /// Window end for every flag (ISO 8601, excluded).
    pub until: String,
}

impl GuardQuery {
    /// The `values` map. `since` is the earliest flag start (as text: ISO 8601 strings in UTC
    /// order like the times they name).
    pub fn values(&self) -> Map<String, Value> {
        let since = self
            .flags
            .iter()
            .map(|(_, s)| s.as_str())
            .min()
            .unwrap_or(self.until.as_str());
        let mut m = Map::new();
        m.insert(
            "flag_keys".into(),
            json!(self.flags.iter().map(|(k, _)| k).collect::<Vec<_>>()),
        );
        m.insert(
            "flag_since".into(),
            json!(self.flags.iter().map(|(_, s)| s).collect::<Vec<_>>()),
        );
        m.insert(
            "outcome_events".into(),
            json!(self.outcomes.iter().map(|o| &o.event).collect::<Vec<_>>()),
        );
        m.insert(
            "outcome_success_properties".into(),
            json!(
                self.outcomes
                    .iter()
                    .map(|o| o.success_property.as_deref().unwrap_or(""))
                    .collect::<Vec<_>>()
            ),
        );
        m.insert("since".into(), json!(since));
        m.insert("until".into(), json!(self.until));
        m
    }
}

/// One row of [`GUARD_QUERY`]: one arm of one flag, one outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GuardRow {
    /// Flag key.
    pub flag: String,
    /// Arm (`true`/`false` for boolean flags, a variant key, or [`MULTIPLE_VARIANTS`]).
    pub variant: String,
    /// Index of the outcome in [`GuardQuery::outcomes`], from 1.
    pub outcome: u64,
    /// Persons exposed to this arm.
    pub users: u64,
    /// Their `$feature_flag_called` events.
    pub exposure_events: u64,
    /// The outcome's per-person sums in this arm.
    pub sums: OutcomeSums,
}

/// One outcome's per-person sums in one arm, after each person's first exposure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutcomeSums {
    /// Persons with at least one outcome event.
    pub users_with_events: u64,
    /// Outcome events (`Σn`).
    pub events: u64,
    /// Of those, successes (`Σs`).
    pub successes: u64,
    /// `Σn²` over persons.
    pub events_squared: u64,
    /// `Σs²` over persons.
    pub successes_squared: u64,
    /// `Σn·s` over persons.
    pub events_by_successes: u64,
}

#[derive(Deserialize)]
struct QueryStatusEnvelope {
    query_status: QueryStatus,
}

#[derive(Deserialize)]
struct QueryStatus {
    id: String,
    #[serde(default)]
    complete: bool,
    #[serde(default)]
    error: bool,
    #[serde(default)]
    error_message: Option<String>,
    #[serde(default)]
    results: Option<QueryResponse>,
}

impl Client {
    /// Runs a HogQL query. `values` fill `{name}` placeholders in `hogql`; put every piece of
    /// user data there, never into the text. A 202 answer is polled until the query completes or
    /// the configured query timeout passes.
    pub async fn query(&self, hogql: &str, values: Map<String, Value>) -> Result<QueryResponse> {
        let url = self.project_url("query/")?;
        let mut call = self.call(Method::POST, ROUTE_QUERY, url);
        call.class = LimitClass::Query;
        Self::json_body(
            &mut call,
            &json!({ "query": { "kind": "HogQLQuery", "query": hogql, "values": values }, "name": "flags_runtime" }),
        )?;
        let raw = self.execute(&call).await?;
        if raw.status != 202 {
            return Self::decode(ROUTE_QUERY, &raw.body);
        }
        let status: QueryStatusEnvelope = Self::decode(ROUTE_QUERY, &raw.body)?;
        self.poll_query(status.query_status).await
    }

    async fn poll_query(&self, mut status: QueryStatus) -> Result<QueryResponse> {
        let cfg = &self.inner.config;
        let deadline = tokio::time::Instant::now() + cfg.query_timeout;
        let mut interval = cfg.query_poll_interval;
        loop {
            if status.error {
                return Err(Error::Api {
                    method: super::HttpMethod::Get,
                    route: ROUTE_QUERY_STATUS,
                    status: 400,
                    kind: Some("validation_error".into()),
                    code: Some("query_failed".into()),
                    detail: status
                        .error_message
                        .unwrap_or_else(|| "query failed".into()),
                    attr: None,
                });
            }
            if status.complete {
                return status.results.ok_or(Error::Protocol {
                    route: ROUTE_QUERY_STATUS,
                    message: "query reported complete without results".into(),
                });
            }
            if tokio::time::Instant::now() + interval > deadline {
                return Err(Error::Timeout {
                    method: super::HttpMethod::Get,
                    route: ROUTE_QUERY_STATUS,
                    after: cfg.query_timeout,
                });
            }
            tokio::time::sleep(interval).await;
            interval = (interval * 2).min(Duration::from_secs(5));
            let url = self.project_url(&format!("query/{}/", status.id))?;
            let mut call = self.call(Method::GET, ROUTE_QUERY_STATUS, url);
            call.class = LimitClass::QueryPoll;
            let raw = self.execute(&call).await?;
            status =
                Self::decode::<QueryStatusEnvelope>(ROUTE_QUERY_STATUS, &raw.body)?.query_status;
        }
    }

    /// Runs [`GUARD_QUERY`] and decodes its rows.
    pub async fn guard_query(&self, params: &GuardQuery) -> Result<Vec<GuardRow>> {
        let resp = self.query(GUARD_QUERY, params.values()).await?;
        let text = |v: Option<&Value>| match v {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        let num = |row: &Map<String, Value>, i: usize, column: &str| -> Result<u64> {
            let v = row.get(column);
            match v {
                Some(Value::Number(n)) => n.as_u64().ok_or(()),
                Some(Value::String(s)) => s.parse().map_err(|_| ()),
                _ => Err(()),
            }
            .map_err(|()| Error::Decode {
                route: ROUTE_QUERY,
                path: format!("results[{i}].{column}"),
                message: "expected a non-negative integer".into(),
                body_snippet: format!("{v:?}"),
            })
        };
        resp.rows()
            .iter()
            .enumerate()
            .map(|(i, row)| {
                Ok(GuardRow {
                    flag: text(row.get("flag")),
                    variant: text(row.get("variant")),
                    outcome: num(row, i, "outcome")?,
                    users: num(row, i, "users")?,
                    exposure_events: num(row, i, "exposure_events")?,
                    sums: OutcomeSums {
                        users_with_events: num(row, i, "users_with_events")?,
                        events: num(row, i, "events")?,
                        successes: num(row, i, "successes")?,
                        events_squared: num(row, i, "events_squared")?,
                        successes_squared: num(row, i, "successes_squared")?,
                        events_by_successes: num(row, i, "events_by_successes")?,
                    },
                })
            })
            .collect()
    }
}
