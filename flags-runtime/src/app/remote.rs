//! Remote evaluation through PostHog's `/flags?v=2`, for answers local evaluation could not
//! give. Used only by the `async` calls ([`super::FlagsClient::evaluate_remote`]), with a
//! short timeout and no retries: a slow PostHog costs the caller at most the timeout, then
//! the yaml default.

use std::time::Duration;

use serde_json::{Map, Number, Value};

use super::outcome::{EvalError, EvalReason};
use crate::client::{Client, Error, FlagsRequest};
use crate::eval::{EvalContext, FlagValue, Properties, PropertyRef};

/// The remote fallback: a client whose requests time out quickly and are not retried.
#[derive(Debug, Clone)]
pub(crate) struct Remote {
    pub(crate) client: Client,
    pub(crate) timeout: Duration,
}

/// What `/flags` said about a flag besides its value (sent on the exposure event).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RemoteMeta {
    pub(crate) request_id: Option<String>,
    pub(crate) evaluated_at: Option<i64>,
    pub(crate) description: Option<String>,
    pub(crate) version: Option<i64>,
    pub(crate) id: Option<i64>,
}

/// PostHog's value, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OwnedValue {
    Bool(bool),
    Variant(String),
}

impl OwnedValue {
    pub(crate) fn as_flag_value(&self) -> FlagValue<'_> {
        match self {
            OwnedValue::Bool(b) => FlagValue::Bool(*b),
            OwnedValue::Variant(v) => FlagValue::Variant(v),
        }
    }
}

/// The remote answer for one flag.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RemoteAnswer {
    /// PostHog's value, `None` when it gave none (then `reason` says why).
    pub(crate) value: Option<OwnedValue>,
    pub(crate) reason: EvalReason,
    pub(crate) payload: Option<Value>,
    pub(crate) meta: RemoteMeta,
}

impl Remote {
    /// Asks `/flags` for flag `key` only.
    pub(crate) async fn ask(&self, key: &str, ctx: &EvalContext<'_>) -> RemoteAnswer {
        let request = request_for(key, ctx);
        let failed = |e: EvalError| RemoteAnswer {
            value: None,
            reason: EvalReason::Error(e),
            payload: None,
            meta: RemoteMeta::default(),
        };
        let response = match tokio::time::timeout(self.timeout, self.client.flags(&request)).await {
            Err(_) => return failed(EvalError::Timeout),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, flag = key, "remote evaluation failed");
                return failed(match &e {
                    Error::Timeout { .. } => EvalError::Timeout,
                    Error::Connect { .. } => EvalError::Unreachable,
                    _ => match e.status() {
                        Some(402) => EvalError::QuotaLimited,
                        Some(status) => EvalError::Api { status },
                        None => EvalError::RemoteFailed,
                    },
                });
            }
            Ok(Ok(r)) => r,
        };
        if response
            .quota_limited
            .as_ref()
            .is_some_and(|q| q.iter().any(|s| s == "feature_flags"))
        {
            return failed(EvalError::QuotaLimited);
        }
        let mut meta = RemoteMeta {
            request_id: response.request_id.clone(),
            evaluated_at: response.evaluated_at,
            ..RemoteMeta::default()
        };
        let Some(detail) = response.flags.get(key) else {
            return RemoteAnswer {
                value: None,
                reason: EvalReason::NotInPostHog,
                payload: None,
                meta,
            };
        };
        meta.description = detail.reason["description"].as_str().map(str::to_owned);
        meta.version = detail.metadata["version"].as_i64();
        meta.id = detail.metadata["id"].as_i64();
        if detail.failed {
            return RemoteAnswer {
                value: None,
                reason: EvalReason::Error(EvalError::RemoteFailed),
                payload: None,
                meta,
            };
        }
        let value = match &detail.variant {
            Some(v) => OwnedValue::Variant(v.clone()),
            None => OwnedValue::Bool(detail.enabled),
        };
        let code = detail.reason["code"].as_str().unwrap_or_default();
        let index = detail.reason["condition_index"]
            .as_u64()
            .and_then(|i| usize::try_from(i).ok());
        // `metadata.payload` is JSON text; a value that is not JSON is kept as a string, as
        // posthog-python does.
        let payload = match &detail.metadata["payload"] {
            Value::String(text) => {
                Some(serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone())))
            }
            Value::Null => None,
            other => Some(other.clone()),
        };
        RemoteAnswer {
            value: Some(value),
            reason: EvalReason::from_remote_code(code, index),
            payload,
            meta,
        }
    }
}

/// The `/flags` body for one flag and one context.
fn request_for(key: &str, ctx: &EvalContext<'_>) -> FlagsRequest {
    let mut groups = Map::new();
    let mut group_properties = Map::new();
    for g in ctx.groups {
        groups.insert(g.group_type.to_owned(), Value::String(g.key.to_owned()));
        group_properties.insert(
            g.group_type.to_owned(),
            Value::Object(properties_json(g.properties)),
        );
    }
    FlagsRequest {
        distinct_id: ctx.distinct_id.to_owned(),
        groups,
        person_properties: properties_json(ctx.person_properties),
        group_properties,
        flag_keys: Some(vec![key.to_owned()]),
        device_id: ctx.device_id.map(str::to_owned),
    }
}

/// A property map as the JSON object PostHog receives.
pub(crate) fn properties_json(props: &Properties) -> Map<String, Value> {
    props
        .iter()
        .map(|(k, v)| {
            let v = match v {
                PropertyRef::Null => Value::Null,
                PropertyRef::Bool(b) => Value::Bool(b),
                PropertyRef::Int(i) => Value::from(i),
                PropertyRef::UInt(u) => Value::from(u),
                PropertyRef::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
                PropertyRef::Str(s) => Value::String(s.to_owned()),
                PropertyRef::Json { value, .. } => value.clone(),
            };
            (k.to_owned(), v)
        })
        .collect()
}
