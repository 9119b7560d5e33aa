//! The client's error type, organised by the stage at which a call failed.

use std::time::Duration;

/// A boxed transport error (never a `reqwest::Error` in the public API, and never carrying a URL).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The HTTP method of a failed call (a one-byte enum, so [`Error`] stays small).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpMethod {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PATCH`
    Patch,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// Anything else.
    Other,
}

impl std::fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Put => "PUT",
            HttpMethod::Delete => "DELETE",
            HttpMethod::Other => "OTHER",
        })
    }
}

/// Everything a PostHog call can fail with.
///
/// Variants follow the stage at which the call failed, so a caller can tell "never sent" from "may
/// have been sent" from "PostHog said no". No variant ever carries an API key: routes are templates
/// (`/api/projects/{project_id}/feature_flags/`), not URLs, and transport errors are stripped of
/// their URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client is not configured correctly; `variable` names the environment variable (or
    /// builder setting) at fault.
    #[error("configuration error in {variable}: {message}")]
    Config {
        /// The environment variable or builder setting, e.g. `POSTHOG_PROJECT_ID`.
        variable: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The request could not be sent or the connection broke before a response arrived.
    #[error("{method} {route}: connection failed: {source}")]
    Connect {
        /// HTTP method.
        method: HttpMethod,
        /// Route template.
        route: &'static str,
        /// The transport error, with any URL removed.
        #[source]
        source: BoxError,
    },
    /// No response arrived in time; the request may have been processed.
    #[error("{method} {route}: timed out after {after:?}")]
    Timeout {
        /// HTTP method.
        method: HttpMethod,
        /// Route template.
        route: &'static str,
        /// The timeout that expired.
        after: Duration,
    },
    /// PostHog answered with an error status; the fields are PostHog's own error envelope.
    #[error("{method} {route}: PostHog answered {status}: {detail}{}", attr.as_ref().map(|a| format!(" (field `{a}`)")).unwrap_or_default())]
    Api {
        /// HTTP method.
        method: HttpMethod,
        /// Route template.
        route: &'static str,
        /// HTTP status code.
        status: u16,
        /// PostHog's `type` (`validation_error`, `authentication_error`, …), when the body had one.
        kind: Option<String>,
        /// PostHog's `code` (`unique`, `invalid_key`, `throttled`, …).
        code: Option<String>,
        /// PostHog's `detail`, verbatim (or the start of a non-JSON body).
        detail: String,
        /// PostHog's `attr`: the field the error is about.
        attr: Option<String>,
    },
    /// The response body did not have the expected shape.
    #[error("{route}: could not decode the response at `{path}`: {message}")]
    Decode {
        /// Route template.
        route: &'static str,
        /// JSON path of the failing value (`results[3].key`).
        path: String,
        /// What serde said.
        message: String,
        /// The first characters of the body.
        body_snippet: String,
    },
    /// PostHog kept answering 429 and the retry budget (attempts or longest wait) ran out.
    #[error("{method} {route}: rate limited by PostHog ({detail})")]
    RateLimited {
        /// HTTP method.
        method: HttpMethod,
        /// Route template.
        route: &'static str,
        /// How long PostHog asked us to wait, when it said.
        retry_after: Option<Duration>,
        /// PostHog's detail text.
        detail: String,
    },
    /// PostHog's answers were inconsistent (a pagination cursor that repeats, a query that never
    /// completes); the message says which.
    #[error("{route}: {message}")]
    Protocol {
        /// Route template.
        route: &'static str,
        /// What went wrong.
        message: String,
    },
}

impl Error {
    /// The HTTP status, when PostHog answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            Error::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// PostHog's error `code`, when it sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { code, .. } => code.as_deref(),
            Error::RateLimited { .. } => Some("throttled"),
            _ => None,
        }
    }

    /// How long PostHog asked us to wait, for a rate-limit error.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether repeating the same request later could succeed (transport errors, timeouts, 5xx,
    /// 408 and 429).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Connect { .. } | Error::Timeout { .. } | Error::RateLimited { .. } => true,
            Error::Api { status, .. } => *status >= 500 || *status == 408 || *status == 429,
            _ => false,
        }
    }

    /// Whether this is a timeout (the request may have been processed).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }
}

/// Result alias for client calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;
