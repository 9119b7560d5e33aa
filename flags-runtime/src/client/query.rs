//! HogQL queries (`POST /api/projects/:id/query/`), the 202-then-poll path, and the one query
//! the guard job sends.

use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Client, Error, LimitClass, QueryResponse, Result};

const ROUTE_QUERY: &str = "/api/projects/{project_id}/query/";
const ROUTE_QUERY_STATUS: &str = "/api/projects/{project_id}/query/{query_id}/";

/// The guard job's single HogQL query: exposures of every guarded flag joined to outcomes per
/// exposed user. All user data travels in `values` placeholders, never in the text.
///
/// Placeholders (see [`GuardQuery`]): `{flag_keys}` (list of flag keys), `{outcome_events}` (list
/// of event names, e.g. `$exception` and the metric events), `{success_property}` (the property
/// that marks a metric event successful), `{since}` and `{until}` (ISO-8601 bounds, `until`
/// excluded).
///
/// Semantics, which the emulator computes from its stored events:
/// - an **exposure** is a `$feature_flag_called` event in `[since, until)` whose
///   `$feature_flag` is in `flag_keys`; its variant is `toString($feature_flag_response)`
///   (`true`/`false` for boolean flags). A user is exposed to `(flag, variant)` from their first
///   such event on (a user who saw two variants counts in both);
/// - an **outcome** is an event named in `outcome_events`, in `[since, until)`, by an exposed user,
///   at or after that user's first exposure; it is a **success** when its `success_property`
///   is `true` (`toString` gives `true` or `1`);
/// - one row per `(flag, variant, outcome_event)`, including outcome events nobody sent, ordered
///   by flag, variant, outcome event: `flag, variant, outcome_event, exposed_users,
///   outcome_events, successes, users_with_outcome`.
///
/// `properties.$feature_flag` (not `$feature/<key>`) is used because minimal
/// `$feature_flag_called` events drop `$feature/<key>`; `properties[{success_property}]` is the
/// bracket-and-placeholder form PostHog resolves (the backtick-in-brackets form fails).
/// The text has not been run against a live PostHog.
pub const GUARD_QUERY: &str = "\
SELECT
    x.flag AS flag,
    x.variant AS variant,
    x.outcome_event AS outcome_event,
    count() AS exposed_users,
    sum(x.outcome_count) AS outcome_events,
    sum(x.success_count) AS successes,
    countIf(x.outcome_count > 0) AS users_with_outcome
FROM (
    SELECT
        e.flag AS flag,
        e.variant AS variant,
        e.distinct_id AS distinct_id,
        e.outcome_event AS outcome_event,
        countIf(o.event = e.outcome_event AND o.timestamp >= e.first_exposed_at) AS outcome_count,
        countIf(o.event = e.outcome_event AND o.timestamp >= e.first_exposed_at AND o.success = 1) AS success_count
    FROM (
        SELECT
            flag, variant, distinct_id, first_exposed_at,
            arrayJoin({outcome_events}) AS outcome_event
        FROM (
            SELECT
                toString(properties.$feature_flag) AS flag,
                toString(properties.$feature_flag_response) AS variant,
                distinct_id,
                min(timestamp) AS first_exposed_at
            FROM events
            WHERE event = '$feature_flag_called'
                AND timestamp >= toDateTime({since})
                AND timestamp < toDateTime({until})
                AND toString(properties.$feature_flag) IN {flag_keys}
            GROUP BY flag, variant, distinct_id
        )
    ) AS e
    LEFT JOIN (
        SELECT
            distinct_id,
            event,
            timestamp,
            if(toString(properties[{success_property}]) IN ('true', '1'), 1, 0) AS success
        FROM events
        WHERE event IN {outcome_events}
            AND timestamp >= toDateTime({since})
            AND timestamp < toDateTime({until})
    ) AS o ON o.distinct_id = e.distinct_id
    GROUP BY flag, variant, distinct_id, outcome_event
) AS x
GROUP BY flag, variant, outcome_event
ORDER BY flag, variant, outcome_event
LIMIT 50000";

/// The values for [`GUARD_QUERY`].
#[derive(Clone, Debug, PartialEq)]
pub struct GuardQuery {
    /// Guarded flag keys.
    pub flag_keys: Vec<String>,
    /// Outcome events (`$exception` and the metric events).
    pub outcome_events: Vec<String>,
    /// Property marking a metric event successful.
    pub success_property: String,
    /// Window start (ISO 8601, included).
    pub since: String,
    /// Window end (ISO 8601, excluded).
    pub until: String,
}

impl GuardQuery {
    /// The `values` map (flag keys and outcome events sorted and de-duplicated, so `arrayJoin`
    /// never yields an outcome twice).
    pub fn values(&self) -> Map<String, Value> {
        let unique = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            v.dedup();
            v
        };
        let mut m = Map::new();
        m.insert("flag_keys".into(), json!(unique(&self.flag_keys)));
        m.insert("outcome_events".into(), json!(unique(&self.outcome_events)));
        m.insert("success_property".into(), json!(self.success_property));
        m.insert("since".into(), json!(self.since));
        m.insert("until".into(), json!(self.until));
        m
    }
}

/// One row of [`GUARD_QUERY`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuardRow {
    /// Flag key.
    pub flag: String,
    /// Variant (`true`/`false` for boolean flags).
    pub variant: String,
    /// Outcome event name.
    pub outcome_event: String,
    /// Users exposed to this variant.
    pub exposed_users: u64,
    /// Outcome events sent by them after exposure.
    pub outcome_events: u64,
    /// Of those, successful ones.
    pub successes: u64,
    /// Exposed users with at least one outcome event.
    pub users_with_outcome: u64,
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
            let raw = self
                .execute(&self.call(Method::GET, ROUTE_QUERY_STATUS, url))
                .await?;
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
        let num = |v: Option<&Value>, path: &str| -> Result<u64> {
            match v {
                Some(Value::Number(n)) => n.as_u64().ok_or(()),
                Some(Value::String(s)) => s.parse().map_err(|_| ()),
                _ => Err(()),
            }
            .map_err(|()| Error::Decode {
                route: ROUTE_QUERY,
                path: path.to_owned(),
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
                    outcome_event: text(row.get("outcome_event")),
                    exposed_users: num(
                        row.get("exposed_users"),
                        &format!("results[{i}].exposed_users"),
                    )?,
                    outcome_events: num(
                        row.get("outcome_events"),
                        &format!("results[{i}].outcome_events"),
                    )?,
                    successes: num(row.get("successes"), &format!("results[{i}].successes"))?,
                    users_with_outcome: num(
                        row.get("users_with_outcome"),
                        &format!("results[{i}].users_with_outcome"),
                    )?,
                })
            })
            .collect()
    }
}
