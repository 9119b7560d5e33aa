//! Client configuration: from code (a builder) or from the environment.

use std::fmt;
use std::time::Duration;

use reqwest::Url;

use super::error::{Error, Result};
use super::limit::Limits;
use super::retry::RetryPolicy;

/// An API key. It never prints: `Debug` shows `Secret(***)` and there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a key.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The key itself, for building a request header. Never log the result.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The default private API host.
pub const DEFAULT_HOST: &str = "https://us.posthog.com";

/// Environment variable: the private API host.
pub const ENV_HOST: &str = "POSTHOG_HOST";
/// Environment variable: the public host for `/flags`, `/flags/definitions` and capture (optional;
/// derived from `POSTHOG_HOST` as the official SDKs do).
pub const ENV_PUBLIC_HOST: &str = "POSTHOG_PUBLIC_HOST";
/// Environment variable: the numeric project id.
pub const ENV_PROJECT_ID: &str = "POSTHOG_PROJECT_ID";
/// Environment variable: the personal API key (`phx_…`), for management calls and definitions.
pub const ENV_PERSONAL_API_KEY: &str = "POSTHOG_PERSONAL_API_KEY";
/// Environment variable: the project API key (`phc_…`), for `/flags` and capture.
pub const ENV_PROJECT_API_KEY: &str = "POSTHOG_PROJECT_API_KEY";

/// Everything the client needs. Build it with [`Config::builder`] or [`Config::from_env`].
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) host: Url,
    pub(crate) public_host: Url,
    pub(crate) project_id: Option<u64>,
    pub(crate) personal_api_key: Option<Secret>,
    pub(crate) project_api_key: Option<Secret>,
    pub(crate) request_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) limits: Limits,
    pub(crate) page_size: u32,
    pub(crate) query_poll_interval: Duration,
    pub(crate) query_timeout: Duration,
}

impl Config {
    /// A builder with PostHog Cloud US defaults and no keys.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// Reads `POSTHOG_HOST`, `POSTHOG_PUBLIC_HOST`, `POSTHOG_PROJECT_ID`,
    /// `POSTHOG_PERSONAL_API_KEY` and `POSTHOG_PROJECT_API_KEY` from the process environment.
    ///
    /// Unset variables keep their defaults (keys stay absent until a call needs them); a variable
    /// that is set but malformed is an [`Error::Config`] naming it.
    pub fn from_env() -> Result<Config> {
        Self::builder_from_lookup(|name| std::env::var(name).ok())?.build()
    }

    /// Like [`Config::from_env`], but returns the builder so code can override settings, and reads
    /// variables through `lookup` (tests pass a map instead of touching the process environment).
    pub fn builder_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<ConfigBuilder> {
        let mut b = ConfigBuilder::default();
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
        if let Some(host) = get(ENV_HOST) {
            b.host = Some((host, ENV_HOST));
        }
        if let Some(public) = get(ENV_PUBLIC_HOST) {
            b.public_host = Some((public, ENV_PUBLIC_HOST));
        }
        if let Some(id) = get(ENV_PROJECT_ID) {
            b.project_id = Some(parse_project_id(&id, ENV_PROJECT_ID)?);
        }
        if let Some(key) = get(ENV_PERSONAL_API_KEY) {
            b.personal_api_key = Some((Secret::new(key), ENV_PERSONAL_API_KEY));
        }
        if let Some(key) = get(ENV_PROJECT_API_KEY) {
            b.project_api_key = Some((Secret::new(key), ENV_PROJECT_API_KEY));
        }
        Ok(b)
    }

    /// The private API host.
    pub fn host(&self) -> &Url {
        &self.host
    }

    /// The public host (flags, definitions, capture).
    pub fn public_host(&self) -> &Url {
        &self.public_host
    }

    /// The project id, if configured.
    pub fn project_id(&self) -> Option<u64> {
        self.project_id
    }

    pub(crate) fn require_project_id(&self) -> Result<u64> {
        self.project_id.ok_or(Error::Config {
            variable: ENV_PROJECT_ID,
            message: "not set; management calls need the numeric project id".into(),
        })
    }

    pub(crate) fn require_personal_key(&self) -> Result<&Secret> {
        self.personal_api_key.as_ref().ok_or(Error::Config {
            variable: ENV_PERSONAL_API_KEY,
            message: "not set; management calls and flag definitions need a personal API key"
                .into(),
        })
    }

    pub(crate) fn require_project_key(&self) -> Result<&Secret> {
        self.project_api_key.as_ref().ok_or(Error::Config {
            variable: ENV_PROJECT_API_KEY,
            message: "not set; /flags and capture need the project API key (phc_…)".into(),
        })
    }
}

fn parse_project_id(value: &str, variable: &'static str) -> Result<u64> {
    match value.trim().parse::<u64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(Error::Config {
            variable,
            message: format!("expected a positive integer, got {value:?}"),
        }),
    }
}

/// The public host the official SDKs derive from a private host: `us.posthog.com` and
/// `app.posthog.com` become `us.i.posthog.com`, `eu.posthog.com` becomes `eu.i.posthog.com`, and
/// any other (self-hosted) host is used as it is.
pub fn derive_public_host(host: &Url) -> Url {
    let mapped = match host.host_str() {
        Some("us.posthog.com") | Some("app.posthog.com") => Some("us.i.posthog.com"),
        Some("eu.posthog.com") => Some("eu.i.posthog.com"),
        _ => None,
    };
    let mut out = host.clone();
    if let Some(public) = mapped {
        // set_host only fails for cannot-be-a-base URLs, which parse_host already rejected.
        if out.set_host(Some(public)).is_err() {
            return host.clone();
        }
    }
    out
}

fn parse_host(value: &str, variable: &'static str) -> Result<Url> {
    let trimmed = value.trim().trim_end_matches('/');
    let url = Url::parse(trimmed).map_err(|e| Error::Config {
        variable,
        message: format!("not a URL ({e}): expected e.g. https://us.posthog.com"),
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::Config {
            variable,
            message: "expected an http(s) URL with a host, e.g. https://us.posthog.com".into(),
        });
    }
    if url.query().is_some() || url.path() != "/" {
        return Err(Error::Config {
            variable,
            message: "expected a bare host without path or query, e.g. https://us.posthog.com"
                .into(),
        });
    }
    Ok(url)
}

fn check_key(key: &Secret, variable: &'static str, prefix: Option<&str>) -> Result<()> {
    let k = key.expose();
    if k.trim().is_empty() || k.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::Config {
            variable,
            message: "malformed key: empty or contains whitespace".into(),
        });
    }
    if let Some(prefix) = prefix
        && !k.starts_with(prefix)
    {
        return Err(Error::Config {
            variable,
            message: format!("malformed key: a project API key starts with `{prefix}`"),
        });
    }
    Ok(())
}

/// Builds a [`Config`]. Setters take plain values; [`ConfigBuilder::build`] validates them.
#[derive(Debug, Default, Clone)]
pub struct ConfigBuilder {
    host: Option<(String, &'static str)>,
    public_host: Option<(String, &'static str)>,
    project_id: Option<u64>,
    personal_api_key: Option<(Secret, &'static str)>,
    project_api_key: Option<(Secret, &'static str)>,
    request_timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    limits: Option<Limits>,
    page_size: Option<u32>,
    query_poll_interval: Option<Duration>,
    query_timeout: Option<Duration>,
}

impl ConfigBuilder {
    /// The private API host (default `https://us.posthog.com`). Also sets the public host to the
    /// derived one unless [`ConfigBuilder::public_host`] is called.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some((host.into(), "host"));
        self
    }

    /// The public host for `/flags`, `/flags/definitions` and capture.
    pub fn public_host(mut self, host: impl Into<String>) -> Self {
        self.public_host = Some((host.into(), "public_host"));
        self
    }

    /// The numeric project id.
    pub fn project_id(mut self, id: u64) -> Self {
        self.project_id = Some(id);
        self
    }

    /// The personal API key (`phx_…`).
    pub fn personal_api_key(mut self, key: impl Into<String>) -> Self {
        self.personal_api_key = Some((Secret::new(key), "personal_api_key"));
        self
    }

    /// The project API key (`phc_…`).
    pub fn project_api_key(mut self, key: impl Into<String>) -> Self {
        self.project_api_key = Some((Secret::new(key), "project_api_key"));
        self
    }

    /// Time allowed for one HTTP exchange (default 30 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Time allowed to open a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The retry policy (default [`RetryPolicy::default`]).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Client-side rate limits and concurrency (default [`Limits::default`], PostHog's own).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// Page size for list calls (default 100, PostHog's own default).
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    /// First interval between polls of an asynchronous query (default 500 ms, doubling to 5 s).
    pub fn query_poll_interval(mut self, interval: Duration) -> Self {
        self.query_poll_interval = Some(interval);
        self
    }

    /// Longest time to wait for an asynchronous query (default 120 s).
    pub fn query_timeout(mut self, timeout: Duration) -> Self {
        self.query_timeout = Some(timeout);
        self
    }

    /// Validates the settings.
    pub fn build(self) -> Result<Config> {
        let host = match &self.host {
            Some((h, var)) => parse_host(h, var)?,
            None => parse_host(DEFAULT_HOST, ENV_HOST)?,
        };
        let public_host = match &self.public_host {
            Some((h, var)) => parse_host(h, var)?,
            None => derive_public_host(&host),
        };
        if let Some((key, var)) = &self.personal_api_key {
            check_key(key, var, None)?;
        }
        if let Some((key, var)) = &self.project_api_key {
            check_key(key, var, Some("phc_"))?;
        }
        if self.page_size == Some(0) {
            return Err(Error::Config {
                variable: "page_size",
                message: "must be at least 1".into(),
            });
        }
        let limits = self.limits.unwrap_or_default();
        if limits.concurrency == 0 {
            return Err(Error::Config {
                variable: "limits.concurrency",
                message: "must be at least 1".into(),
            });
        }
        Ok(Config {
            host,
            public_host,
            project_id: self.project_id,
            personal_api_key: self.personal_api_key.map(|(k, _)| k),
            project_api_key: self.project_api_key.map(|(k, _)| k),
            request_timeout: self.request_timeout.unwrap_or(Duration::from_secs(30)),
            connect_timeout: self.connect_timeout.unwrap_or(Duration::from_secs(10)),
            retry: self.retry.unwrap_or_default(),
            limits,
            page_size: self.page_size.unwrap_or(100),
            query_poll_interval: self
                .query_poll_interval
                .unwrap_or(Duration::from_millis(500)),
            query_timeout: self.query_timeout.unwrap_or(Duration::from_secs(120)),
        })
    }
}
