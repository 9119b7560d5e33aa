//! [`FlagsClientBuilder`]: how a [`FlagsClient`] is configured, in code or from the
//! environment.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use super::cache::DefinitionCache;
use super::capture::{CaptureQueue, CaptureSettings};
use super::client::{Background, FlagsClient};
use super::exposure::Exposures;
use super::poller::{self, PollerSettings};
use super::remote::Remote;
use super::snapshot_file;
use super::state::{RulesSource, Shared, Status};
use crate::client::{Client, Config, ConfigBuilder, Error, Result, RetryPolicy};

/// Environment variable: seconds between polls of `/flags/definitions` (default 30).
pub const ENV_POLL_INTERVAL: &str = "POSTHOG_FLAGS_POLL_INTERVAL_SECS";
/// Environment variable: path of the last-known-good snapshot file (default: none).
pub const ENV_SNAPSHOT_FILE: &str = "POSTHOG_FLAGS_SNAPSHOT_FILE";
/// Environment variable: `true`/`false`, ask `/flags` when local rules cannot decide
/// (default `true`; only the `async` calls ever do).
pub const ENV_REMOTE_FALLBACK: &str = "POSTHOG_FLAGS_REMOTE_FALLBACK";
/// Environment variable: `true` to never touch the network (defaults and overrides only).
pub const ENV_OFFLINE: &str = "POSTHOG_FLAGS_OFFLINE";

/// Configures a [`FlagsClient`]. The PostHog connection itself (host, keys, timeouts) is a
/// [`crate::client::ConfigBuilder`]; the rest has the defaults of PostHog's server SDKs.
///
/// What the client does follows from the keys it has:
///
/// | keys | rules | remote fallback | capture |
/// |---|---|---|---|
/// | personal API key (`phx_…`) or project secret key (`phs_…`) as `personal_api_key`, and project key (`phc_…`) | polled, evaluated locally | `/flags` | yes |
/// | personal or secret key only | polled, evaluated locally | no | no |
/// | project key only | none: sync calls give defaults | `/flags` (async calls) | yes |
/// | none, or `offline(true)` | none (or the snapshot file) | no | no |
#[derive(Debug, Clone)]
pub struct FlagsClientBuilder {
    client: ConfigBuilder,
    poll_interval: Duration,
    snapshot_file: Option<PathBuf>,
    remote_fallback: bool,
    remote_timeout: Duration,
    initial_load_timeout: Duration,
    exposures: bool,
    exposure_cache: usize,
    capture_capacity: usize,
    flush_at: usize,
    flush_interval: Duration,
    cache: Option<Arc<dyn DefinitionCache>>,
    offline: bool,
}

impl Default for FlagsClientBuilder {
    fn default() -> Self {
        FlagsClientBuilder {
            client: Config::builder(),
            poll_interval: Duration::from_secs(30),
            snapshot_file: None,
            remote_fallback: true,
            remote_timeout: Duration::from_secs(3),
            initial_load_timeout: Duration::from_secs(5),
            exposures: true,
            exposure_cache: 50_000,
            capture_capacity: 10_000,
            flush_at: 100,
            flush_interval: Duration::from_secs(1),
            cache: None,
            offline: false,
        }
    }
}

fn parse_bool(value: &str, variable: &'static str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(Error::Config {
            variable,
            message: format!("expected true or false, got {value:?}"),
        }),
    }
}

impl FlagsClientBuilder {
    /// Reads the PostHog client's variables ([`Config::from_env`]: `POSTHOG_HOST`,
    /// `POSTHOG_PERSONAL_API_KEY`, `POSTHOG_PROJECT_API_KEY`, …) and
    /// `POSTHOG_FLAGS_POLL_INTERVAL_SECS`, `POSTHOG_FLAGS_SNAPSHOT_FILE`,
    /// `POSTHOG_FLAGS_REMOTE_FALLBACK`, `POSTHOG_FLAGS_OFFLINE`. A malformed value is an
    /// [`Error::Config`] naming the variable.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`FlagsClientBuilder::from_env`], reading variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut b = FlagsClientBuilder {
            client: Config::builder_from_lookup(&lookup)?,
            ..FlagsClientBuilder::default()
        };
        if let Some(v) = get(ENV_POLL_INTERVAL) {
            let secs: f64 = v
                .trim()
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && *s > 0.0)
                .ok_or_else(|| Error::Config {
                    variable: ENV_POLL_INTERVAL,
                    message: format!("expected a positive number of seconds, got {v:?}"),
                })?;
            b.poll_interval = Duration::from_secs_f64(secs);
        }
        if let Some(v) = get(ENV_SNAPSHOT_FILE) {
            b.snapshot_file = Some(PathBuf::from(v));
        }
        if let Some(v) = get(ENV_REMOTE_FALLBACK) {
            b.remote_fallback = parse_bool(&v, ENV_REMOTE_FALLBACK)?;
        }
        if let Some(v) = get(ENV_OFFLINE) {
            b.offline = parse_bool(&v, ENV_OFFLINE)?;
        }
        Ok(b)
    }

    /// The PostHog connection (host, keys, timeouts, retries), replacing the one read from
    /// the environment.
    pub fn client(mut self, config: ConfigBuilder) -> Self {
        self.client = config;
        self
    }

    /// Time between polls of `/flags/definitions` (default 30 s, as PostHog's SDKs).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Keep the last-known-good definitions in this file: written (atomically) after every
    /// change, read at start so a restart during a PostHog outage still serves the last rules.
    pub fn snapshot_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.snapshot_file = Some(path.into());
        self
    }

    /// Whether the `async` calls ask `/flags` when the local rules cannot decide (default on
    /// when a project API key is configured). The sync calls never do.
    pub fn remote_fallback(mut self, on: bool) -> Self {
        self.remote_fallback = on;
        self
    }

    /// Longest wait for a remote `/flags` answer (default 3 s, as posthog-python); not
    /// retried.
    pub fn remote_timeout(mut self, timeout: Duration) -> Self {
        self.remote_timeout = timeout;
        self
    }

    /// How long [`FlagsClientBuilder::build`] waits for the first poll (default 5 s). After
    /// that the client starts with the snapshot file's rules, or defaults, and the poller
    /// keeps trying in the background.
    pub fn initial_load_timeout(mut self, timeout: Duration) -> Self {
        self.initial_load_timeout = timeout;
        self
    }

    /// Whether evaluations send `$feature_flag_called` (default on, as PostHog's SDKs).
    pub fn send_exposures(mut self, on: bool) -> Self {
        self.exposures = on;
        self
    }

    /// How many (user, flag, value) exposures are remembered to avoid re-sending (default
    /// 50,000, posthog-python's bound).
    pub fn exposure_cache_size(mut self, entries: usize) -> Self {
        self.exposure_cache = entries.max(1);
        self
    }

    /// Events the capture queue holds before dropping new ones (default 10,000).
    pub fn capture_queue_capacity(mut self, events: usize) -> Self {
        self.capture_capacity = events.max(1);
        self
    }

    /// Events per capture batch (default 100, as posthog-python).
    pub fn flush_at(mut self, events: usize) -> Self {
        self.flush_at = events.max(1);
        self
    }

    /// Longest time an event waits in the queue for its batch to fill (default 1 s).
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = interval;
        self
    }

    /// Share definitions with the rest of the fleet through this cache, so one process polls
    /// PostHog (see [`super::DefinitionCache`]).
    pub fn definition_cache(mut self, cache: Arc<dyn DefinitionCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// Never touch the network: serve the snapshot file's rules if one is configured, else
    /// the yaml defaults, plus overrides.
    pub fn offline(mut self, offline: bool) -> Self {
        self.offline = offline;
        self
    }

    /// Starts the client: loads the snapshot file, starts the poller (and waits for its first
    /// attempt, at most [`FlagsClientBuilder::initial_load_timeout`]) and the capture task.
    /// Fails only on malformed settings, or without a tokio runtime when there is network
    /// work to run; never because PostHog is unreachable.
    pub async fn build(self) -> Result<FlagsClient> {
        let config = self.client.clone().build()?;
        let local = config.personal_api_key.is_some();
        let project = config.project_api_key.is_some();
        let offline = self.offline || (!local && !project);
        let shared = Shared::new(if offline {
            Status::Offline
        } else {
            Status::NotLoaded
        });
        if let Some(path) = &self.snapshot_file
            && let Some((definitions, _)) = snapshot_file::read(path)
        {
            shared.publish(
                crate::eval::Snapshot::compile(&definitions),
                RulesSource::SnapshotFile,
            );
        }
        if offline {
            if !self.offline {
                tracing::info!("no PostHog key configured: flags serve their yaml defaults");
            }
            return Ok(FlagsClient::from_parts(
                shared,
                None,
                None,
                None,
                Background::default(),
            ));
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::Config {
                variable: "tokio runtime",
                message: "FlagsClientBuilder::build must run inside a tokio runtime (it starts the poller and the capture task)".into(),
            });
        }
        let client = Client::new(config)?;
        let mut background = Background::default();

        let capture = if project {
            let (queue, task) = CaptureQueue::spawn(
                client.clone(),
                CaptureSettings {
                    capacity: self.capture_capacity,
                    flush_at: self.flush_at,
                    flush_interval: self.flush_interval,
                },
                shared.clone(),
            );
            background.capture = Some(task);
            Some(Arc::new(queue))
        } else {
            None
        };
        let exposures = match (&capture, self.exposures) {
            (Some(queue), true) => Some(Exposures::new(self.exposure_cache, queue.clone())),
            _ => None,
        };
        let remote = if project && self.remote_fallback {
            let remote_client = Client::new(
                self.client
                    .clone()
                    .request_timeout(self.remote_timeout)
                    .retry(RetryPolicy {
                        max_attempts: 1,
                        ..RetryPolicy::default()
                    })
                    .build()?,
            )?;
            Some(Remote {
                client: remote_client,
                timeout: self.remote_timeout,
            })
        } else {
            None
        };
        if local {
            let (stop, stopped) = watch::channel(false);
            let (first, first_done) = oneshot::channel();
            background.poller = Some(poller::spawn(
                client,
                PollerSettings {
                    interval: self.poll_interval,
                    snapshot_file: self.snapshot_file.clone(),
                    cache: self.cache.clone(),
                },
                shared.clone(),
                stopped,
                first,
            ));
            background.stop = Some(stop);
            if tokio::time::timeout(self.initial_load_timeout, first_done)
                .await
                .is_err()
            {
                tracing::warn!(
                    "PostHog did not answer the first poll in time; starting with the rules at hand"
                );
            }
        }
        Ok(FlagsClient::from_parts(
            shared, remote, exposures, capture, background,
        ))
    }
}
