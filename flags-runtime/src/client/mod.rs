//! The PostHog API client: one client for everything the runtime sends to PostHog.
//!
//! ```no_run
//! # async fn demo() -> Result<(), flags_runtime::client::Error> {
//! use flags_runtime::client::{Client, Config, ListFlags};
//! use futures_util::TryStreamExt;
//!
//! let client = Client::new(Config::from_env()?)?;
//! let flags: Vec<_> = client.list_flags(&ListFlags::everything()).try_collect().await?;
//! # Ok(()) }
//! ```
//!
//! Every call goes through one engine ([`Client`]'s private `execute`): a shared client-side rate
//! limiter ([`Limits`]), a concurrency bound, retries with backoff ([`RetryPolicy`]) and a
//! `tracing` span per attempt. See `DESIGN.md` beside this file for the choices made.

mod config;
mod error;
mod flags;
mod limit;
mod models;
mod public;
mod query;
mod retry;

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use tracing::Instrument;

pub use config::{
    Config, ConfigBuilder, DEFAULT_HOST, ENV_HOST, ENV_PERSONAL_API_KEY, ENV_PROJECT_API_KEY,
    ENV_PROJECT_ID, ENV_PUBLIC_HOST, Secret, derive_public_host,
};
pub use error::{BoxError, Error, HttpMethod, Result};
pub use limit::{LimitClass, Limits, Rate};
pub use models::*;
pub use query::{GUARD_QUERY, GuardOutcome, GuardQuery, GuardRow, MULTIPLE_VARIANTS, OutcomeSums};
pub use retry::{RetryPolicy, wait_from_detail, wait_from_retry_after};

/// The PostHog client. Cheap to clone; clones share the rate limiter and connection pool.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    http: reqwest::Client,
    limiter: limit::Limiter,
    slots: Semaphore,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Which credential a request carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Auth {
    /// `Authorization: Bearer <personal API key>`.
    Personal,
    /// Personal key plus `X-PostHog-Project-Api-Key` (flag definitions, as posthog-rs does).
    PersonalAndProject,
    /// The project token travels in the JSON body (`/flags`, capture).
    None,
}

/// One logical request; the engine may send it several times.
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) route: &'static str,
    pub(crate) url: Url,
    pub(crate) auth: Auth,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) class: LimitClass,
    pub(crate) headers: Vec<(HeaderName, String)>,
}

/// A successful (2xx or 304) answer.
pub(crate) struct Raw {
    pub(crate) status: u16,
    pub(crate) etag: Option<String>,
    pub(crate) body: Vec<u8>,
}

fn method_name(m: &Method) -> HttpMethod {
    match *m {
        Method::GET => HttpMethod::Get,
        Method::POST => HttpMethod::Post,
        Method::PATCH => HttpMethod::Patch,
        Method::PUT => HttpMethod::Put,
        Method::DELETE => HttpMethod::Delete,
        _ => HttpMethod::Other,
    }
}

/// The first `n` characters of a body, for error messages.
fn snippet(body: &[u8], n: usize) -> String {
    String::from_utf8_lossy(body).chars().take(n).collect()
}

/// PostHog's error envelope.
#[derive(serde::Deserialize, Default)]
struct Envelope {
    #[serde(rename = "type")]
    kind: Option<String>,
    code: Option<String>,
    detail: Option<serde_json::Value>,
    attr: Option<String>,
    error: Option<String>,
}

impl Client {
    /// A client for `config`.
    pub fn new(config: Config) -> Result<Client> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("flags-runtime/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config {
                variable: "http client",
                message: e.without_url().to_string(),
            })?;
        let limiter = limit::Limiter::new(&config.limits);
        let slots = Semaphore::new(config.limits.concurrency);
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                http,
                limiter,
                slots,
            }),
        })
    }

    /// A client configured from the environment ([`Config::from_env`]).
    pub fn from_env() -> Result<Client> {
        Client::new(Config::from_env()?)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// `<host>/api/projects/<id>/<rest>`.
    pub(crate) fn project_url(&self, rest: &str) -> Result<Url> {
        let id = self.inner.config.require_project_id()?;
        self.join(
            &self.inner.config.host,
            &format!("/api/projects/{id}/{rest}"),
        )
    }

    pub(crate) fn join(&self, base: &Url, path: &str) -> Result<Url> {
        base.join(path).map_err(|e| Error::Config {
            variable: ENV_HOST,
            message: format!("cannot build a URL: {e}"),
        })
    }

    /// Checks that a `next` link from PostHog points at the configured host, so the personal key
    /// is never sent anywhere else.
    pub(crate) fn same_origin(&self, route: &'static str, next: &str) -> Result<Url> {
        let url = Url::parse(next).map_err(|e| Error::Protocol {
            route,
            message: format!("`next` is not a URL: {e}"),
        })?;
        let host = &self.inner.config.host;
        if url.origin() != host.origin() {
            return Err(Error::Protocol {
                route,
                message: "`next` points at another host; refusing to send the API key there".into(),
            });
        }
        Ok(url)
    }

    pub(crate) fn call(&self, method: Method, route: &'static str, url: Url) -> Call {
        Call {
            method,
            route,
            url,
            auth: Auth::Personal,
            body: None,
            class: LimitClass::Crud,
            headers: Vec::new(),
        }
    }

    pub(crate) fn json_body<T: serde::Serialize>(call: &mut Call, body: &T) -> Result<()> {
        let bytes = serde_json::to_vec(body).map_err(|e| Error::Protocol {
            route: call.route,
            message: format!("cannot encode the request body: {e}"),
        })?;
        call.body = Some(bytes);
        Ok(())
    }

    /// Sends `call` once.
    async fn send_once(&self, call: &Call, attempt: u32) -> Result<Raw> {
        let method = method_name(&call.method);
        let span = tracing::info_span!(
            "posthog_request",
            method = %method,
            route = call.route,
            attempt,
            status = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        async {
            let mut req = self
                .inner
                .http
                .request(call.method.clone(), call.url.clone());
            if matches!(call.auth, Auth::Personal | Auth::PersonalAndProject) {
                let key = self.inner.config.require_personal_key()?;
                req = req.header(
                    reqwest::header::AUTHORIZATION,
                    sensitive(&format!("Bearer {}", key.expose()))?,
                );
            }
            if call.auth == Auth::PersonalAndProject {
                let token = self.inner.config.require_project_key()?;
                req = req.header("x-posthog-project-api-key", sensitive(token.expose())?);
            }
            for (name, value) in &call.headers {
                req = req.header(name.clone(), value.as_str());
            }
            if let Some(body) = &call.body {
                req = req
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            // Only a request that is really sent takes a slot and counts in the limiter.
            let _slot = self
                .inner
                .slots
                .acquire()
                .await
                .map_err(|_| Error::Protocol {
                    route: call.route,
                    message: "client is shutting down".into(),
                })?;
            let _ticket = self.inner.limiter.acquire(call.class).await;
            let started = tokio::time::Instant::now();
            let result = async {
                let resp = req.send().await?;
                let status = resp.status().as_u16();
                let etag = resp
                    .headers()
                    .get(reqwest::header::ETAG)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let retry_after = resp
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(wait_from_retry_after);
                let body = resp.bytes().await?.to_vec();
                Ok::<_, reqwest::Error>((status, etag, retry_after, body))
            }
            .await;
            let elapsed = started.elapsed();
            span.record("duration_ms", elapsed.as_millis() as u64);
            let (status, etag, retry_after, body) = match result {
                Ok(r) => r,
                Err(e) => {
                    let e = e.without_url();
                    tracing::debug!(error = %e, "transport error");
                    return Err(if e.is_timeout() {
                        Error::Timeout {
                            method,
                            route: call.route,
                            after: self.inner.config.request_timeout,
                        }
                    } else {
                        Error::Connect {
                            method,
                            route: call.route,
                            source: Box::new(e),
                        }
                    });
                }
            };
            span.record("status", status);
            tracing::debug!(status, "response");
            if (200..300).contains(&status) || status == 304 {
                return Ok(Raw { status, etag, body });
            }
            Err(self.api_error(call, status, retry_after, &body))
        }
        .instrument(span.clone())
        .await
    }

    fn api_error(
        &self,
        call: &Call,
        status: u16,
        retry_after: Option<Duration>,
        body: &[u8],
    ) -> Error {
        let method = method_name(&call.method);
        let env: Envelope = serde_json::from_slice(body).unwrap_or_default();
        let detail = match (&env.detail, &env.error) {
            (Some(serde_json::Value::String(s)), _) => s.clone(),
            (Some(v), _) => v.to_string(),
            (None, Some(e)) => e.clone(),
            (None, None) => snippet(body, 300),
        };
        if status == 429 {
            let retry_after = retry_after.or_else(|| wait_from_detail(&detail));
            return Error::RateLimited {
                method,
                route: call.route,
                retry_after,
                detail,
            };
        }
        Error::Api {
            method,
            route: call.route,
            status,
            kind: env.kind,
            code: env.code,
            detail,
            attr: env.attr,
        }
    }

    /// How long to wait before attempt `attempt + 1`, or `None` to give up.
    fn retry_wait(
        &self,
        err: &Error,
        attempt: u32,
        backoff: &mut impl Iterator<Item = Duration>,
    ) -> Option<Duration> {
        let policy = &self.inner.config.retry;
        if attempt >= policy.max_attempts || !err.is_retryable() {
            return None;
        }
        match err.retry_after() {
            Some(wait) if wait > policy.max_rate_limit_wait => None,
            Some(wait) => Some(wait),
            None => backoff.next(),
        }
    }

    /// Sends `call`, retrying what the policy allows. Only for calls that are safe to repeat.
    pub(crate) async fn execute(&self, call: &Call) -> Result<Raw> {
        let mut backoff = self.inner.config.retry.backoff();
        let mut attempt = 1;
        loop {
            match self.send_once(call, attempt).await {
                Ok(raw) => return Ok(raw),
                Err(err) => {
                    let Some(wait) = self.retry_wait(&err, attempt, &mut backoff) else {
                        return Err(err);
                    };
                    tracing::warn!(route = call.route, attempt, wait_ms = wait.as_millis() as u64, error = %err, "retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }

    /// Sends a call that must not be repeated blindly (a create). Before each retry,
    /// `already_done` looks for the effect of an earlier attempt; if it finds one, that is the
    /// answer. 429s are retried without looking, because PostHog throttles before it processes.
    pub(crate) async fn execute_checked<T, F, Fut>(
        &self,
        call: &Call,
        already_done: F,
    ) -> Result<Result<Raw, T>>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>>>,
    {
        let mut backoff = self.inner.config.retry.backoff();
        let mut attempt = 1;
        loop {
            match self.send_once(call, attempt).await {
                Ok(raw) => return Ok(Ok(raw)),
                Err(err) => {
                    let Some(wait) = self.retry_wait(&err, attempt, &mut backoff) else {
                        return Err(err);
                    };
                    tracing::warn!(route = call.route, attempt, wait_ms = wait.as_millis() as u64, error = %err, "retrying after checking for an earlier success");
                    tokio::time::sleep(wait).await;
                    if !matches!(err, Error::RateLimited { .. })
                        && let Some(found) = already_done().await?
                    {
                        return Ok(Err(found));
                    }
                    attempt += 1;
                }
            }
        }
    }

    /// Decodes a JSON body, naming the JSON path of the first mismatch.
    pub(crate) fn decode<T: DeserializeOwned>(route: &'static str, body: &[u8]) -> Result<T> {
        let mut de = serde_json::Deserializer::from_slice(body);
        serde_path_to_error::deserialize(&mut de).map_err(|e| Error::Decode {
            route,
            path: e.path().to_string(),
            message: e.inner().to_string(),
            body_snippet: snippet(body, 200),
        })
    }

    /// Sends a retryable call and decodes its JSON answer.
    pub(crate) async fn fetch<T: DeserializeOwned>(&self, call: &Call) -> Result<T> {
        let raw = self.execute(call).await?;
        Self::decode(call.route, &raw.body)
    }
}

fn sensitive(value: &str) -> Result<HeaderValue> {
    let mut v = HeaderValue::from_str(value).map_err(|_| Error::Config {
        variable: "api key",
        message: "the key contains characters not allowed in an HTTP header".into(),
    })?;
    v.set_sensitive(true);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_errors_name_the_json_path() {
        let body = br#"{"count":2,"next":null,"results":[{"id":1,"key":"a"},{"id":2,"key":7}]}"#;
        match Client::decode::<Page<FeatureFlag>>("/r", body) {
            Err(Error::Decode {
                path, body_snippet, ..
            }) => {
                assert_eq!(path, "results[1].key");
                assert!(body_snippet.starts_with("{\"count\""));
            }
            other => panic!("expected a decode error, got {other:?}"),
        }
    }

    #[test]
    fn api_errors_keep_posthogs_envelope() {
        let env: Envelope = serde_json::from_str(
            r#"{"type":"validation_error","code":"unique","detail":"There is already a feature flag with this key.","attr":"key"}"#,
        )
        .unwrap_or_default();
        assert_eq!(env.code.as_deref(), Some("unique"));
        assert_eq!(env.attr.as_deref(), Some("key"));
    }
}
