//! The background task that keeps the rules current: polls `/flags/definitions` with the last
//! ETag (or reads the shared cache when another process polls), compiles each change once,
//! publishes it atomically, and writes the last-known-good snapshot file.
//!
//! An error never removes rules, except the two answers PostHog's SDKs treat the same way:
//! 401 (the key is refused) and 402 (over quota) drop them, so the application gets the
//! yaml defaults with the reason.

use std::hash::{BuildHasher, RandomState};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use super::cache::{CachedDefinitions, DefinitionCache};
use super::outcome::EvalError;
use super::snapshot_file;
use super::state::{RulesSource, Shared, bump};
use crate::client::{Client, DefinitionsResponse};
use crate::eval::{Definitions, Snapshot};

/// What the poller needs besides the client.
#[derive(Debug, Clone)]
pub(crate) struct PollerSettings {
    pub(crate) interval: Duration,
    pub(crate) snapshot_file: Option<PathBuf>,
    pub(crate) cache: Option<Arc<dyn DefinitionCache>>,
}

struct PollState {
    etag: Option<String>,
    /// Hash of the cached document last applied (so an unchanged one is not recompiled).
    applied: Option<u64>,
    hasher: RandomState,
}

/// Starts the poller. `first` fires after the first attempt, whatever its outcome; the task
/// ends when `stop` changes or its sender is dropped, and then releases the shared cache.
pub(crate) fn spawn(
    client: Client,
    settings: PollerSettings,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    first: oneshot::Sender<()>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut state = PollState {
            etag: None,
            applied: None,
            hasher: RandomState::new(),
        };
        let mut first = Some(first);
        loop {
            tokio::select! {
                () = poll_once(&client, &settings, &shared, &mut state) => {}
                _ = stop.changed() => break,
            }
            if let Some(f) = first.take() {
                let _ = f.send(());
            }
            tokio::select! {
                () = tokio::time::sleep(settings.interval) => {}
                _ = stop.changed() => break,
            }
        }
        if let Some(cache) = &settings.cache
            && let Err(e) = cache.release().await
        {
            tracing::warn!(error = %e, "releasing the shared definition cache failed");
        }
    })
}

async fn poll_once(
    client: &Client,
    settings: &PollerSettings,
    shared: &Shared,
    state: &mut PollState,
) {
    bump(&shared.counters.polls, 1);
    if let Some(cache) = &settings.cache {
        let fetch = match cache.should_fetch().await {
            Ok(fetch) => fetch,
            Err(e) => {
                tracing::warn!(error = %e, "shared definition cache unavailable; fetching from PostHog");
                true
            }
        };
        if !fetch {
            match cache.load().await {
                Ok(Some(cached)) => {
                    apply_cached(cached, settings, shared, state).await;
                    return;
                }
                // Nothing shared yet: keep the current rules, or fetch when there are none.
                Ok(None) if shared.has_rules() => return,
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "reading the shared definition cache failed; fetching from PostHog");
                }
            }
        }
    }
    match client.flag_definitions(state.etag.as_deref()).await {
        Ok(DefinitionsResponse::Modified { definitions, etag }) => {
            state.etag = etag;
            let json = snapshot_file::definitions_json(&definitions);
            let fetched_at_ms = super::now_ms();
            let Some(snapshot) = compile(definitions).await else {
                bump(&shared.counters.poll_errors, 1);
                return;
            };
            shared.publish(snapshot, RulesSource::PostHog);
            let text = json.to_string();
            state.applied = Some(state.hasher.hash_one(&text));
            if let Some(cache) = &settings.cache
                && let Err(e) = cache
                    .store(&CachedDefinitions {
                        json: text,
                        fetched_at_ms,
                    })
                    .await
            {
                tracing::warn!(error = %e, "storing definitions in the shared cache failed");
            }
            save(settings, json, fetched_at_ms).await;
        }
        Ok(_) => {} // 304: the rules in use are current.
        Err(e) => {
            bump(&shared.counters.poll_errors, 1);
            match e.status() {
                Some(401) => {
                    tracing::error!(error = %e, "PostHog refused the personal API key for flag definitions; serving yaml defaults");
                    shared.drop_rules(EvalError::Unauthorized);
                    state.etag = None;
                }
                Some(402) => {
                    tracing::warn!("PostHog feature flags quota limited; serving yaml defaults");
                    shared.drop_rules(EvalError::QuotaLimited);
                    state.etag = None;
                }
                _ => {
                    tracing::warn!(error = %e, "polling flag definitions failed; keeping the current rules")
                }
            }
        }
    }
}

async fn apply_cached(
    cached: CachedDefinitions,
    settings: &PollerSettings,
    shared: &Shared,
    state: &mut PollState,
) {
    let hash = state.hasher.hash_one(&cached.json);
    if state.applied == Some(hash) && shared.has_rules() {
        return;
    }
    let definitions = match Definitions::from_json_str(&cached.json) {
        Ok(d) => d,
        Err(e) => {
            bump(&shared.counters.poll_errors, 1);
            tracing::warn!(error = %e, "the shared cache holds definitions that do not parse");
            return;
        }
    };
    let Some(snapshot) = compile(definitions).await else {
        bump(&shared.counters.poll_errors, 1);
        return;
    };
    shared.publish(snapshot, RulesSource::SharedCache);
    state.applied = Some(hash);
    // Our ETag no longer describes what we serve: the next fetch (should we take over the
    // polling) asks for everything.
    state.etag = None;
    if settings.snapshot_file.is_some()
        && let Ok(json) = serde_json::from_str(&cached.json)
    {
        save(settings, json, cached.fetched_at_ms).await;
    }
}

/// Compiles off the async threads (a large document takes milliseconds).
pub(crate) async fn compile(definitions: Definitions) -> Option<Snapshot> {
    match tokio::task::spawn_blocking(move || Snapshot::compile(&definitions)).await {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::error!(error = %e, "compiling flag definitions failed");
            None
        }
    }
}

async fn save(settings: &PollerSettings, json: serde_json::Value, fetched_at_ms: u64) {
    let Some(path) = settings.snapshot_file.clone() else {
        return;
    };
    let result =
        tokio::task::spawn_blocking(move || snapshot_file::write(&path, &json, fetched_at_ms))
            .await;
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "writing the snapshot file failed"),
        Err(e) => tracing::warn!(error = %e, "writing the snapshot file failed"),
    }
}
