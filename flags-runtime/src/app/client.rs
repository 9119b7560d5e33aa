//! [`FlagsClient`]: typed flag evaluation for the application.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::builder::FlagsClientBuilder;
use super::capture::CaptureQueue;
use super::exposure::{Exposure, Exposures};
use super::outcome::{EvalError, EvalReason, FlagEvaluation, Source};
use super::remote::{OwnedValue, Remote};
use super::state::{FlagsStats, RulesSource, RulesStatus, Shared, Status, bump};
use crate::client::CaptureEvent;
use crate::eval::{EvalContext, FlagValue, Snapshot};
use crate::registry::{BooleanFlag, FlagDef, FlagValueType, VariantFlag};

/// Evaluates the generated flag types for the application: PostHog's rules evaluated in
/// process, the yaml `default` whenever PostHog cannot answer, overrides for tests.
///
/// Cheap to clone (clones share everything). No call can fail or panic: every failure
/// returns the flag's yaml default, with the reason in [`FlagsClient::evaluate`].
///
/// ```
/// # mod registry { flags_macros::include_flags!(source = r#"
/// # naming: { areas: [studio] }
/// # flags:
/// #   release_studio_new_editor: { description: The new editor., owner: "@ana", default: false }
/// # "#); }
/// # use registry::ReleaseStudioNewEditor;
/// use flags_runtime::app::{EvalReason, FlagsClient};
/// use flags_runtime::eval::{EvalContext, Properties};
///
/// let flags = FlagsClient::for_tests().with::<ReleaseStudioNewEditor>(true);
/// let person = Properties::new();
/// let user = EvalContext::new("user-1", &person);
/// assert!(flags.is_enabled::<ReleaseStudioNewEditor>(&user));
/// assert_eq!(flags.evaluate::<ReleaseStudioNewEditor>(&user).reason, EvalReason::Override);
/// ```
#[derive(Clone)]
pub struct FlagsClient {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) shared: Arc<Shared>,
    pub(crate) overrides: ArcSwap<Overrides>,
    pub(crate) remote: Option<Remote>,
    pub(crate) exposures: Option<Exposures>,
    pub(crate) capture: Option<Arc<CaptureQueue>>,
    pub(crate) background: Mutex<Background>,
}

/// The background tasks and the signal that stops the poller.
#[derive(Debug, Default)]
pub(crate) struct Background {
    pub(crate) stop: Option<watch::Sender<bool>>,
    pub(crate) poller: Option<JoinHandle<()>>,
    pub(crate) capture: Option<JoinHandle<()>>,
}

/// Forced values, by flag key.
#[derive(Debug, Clone, Default)]
pub(crate) struct Overrides {
    map: HashMap<&'static str, Forced>,
}

#[derive(Debug, Clone)]
struct Forced {
    value: FlagValue<'static>,
    payload: Option<Value>,
}

impl std::fmt::Debug for FlagsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlagsClient")
            .field("rules", &self.rules_status())
            .field("overrides", &self.inner.overrides.load().map.len())
            .field("remote_fallback", &self.inner.remote.is_some())
            .field("exposures", &self.inner.exposures.is_some())
            .field("stats", &self.stats())
            .finish()
    }
}

/// The yaml payload declared for `value` of flag `F`, as JSON text.
fn yaml_payload<F: FlagDef>(value: F::Value) -> Option<&'static str> {
    let key = match value.to_posthog() {
        FlagValue::Bool(true) => "true",
        FlagValue::Bool(false) => return None,
        FlagValue::Variant(v) => v,
    };
    F::definition().payload(key)
}

/// Reads PostHog's value (or its absence) as the flag's Rust type.
fn typed<F: FlagDef>(
    value: Option<FlagValue<'_>>,
    reason: EvalReason,
    source: Source,
) -> FlagEvaluation<F::Value> {
    let fallback = |reason| FlagEvaluation {
        value: F::DEFAULT_VALUE,
        reason,
        source: Source::Default,
    };
    match value {
        Some(v) => match F::Value::from_posthog(v) {
            Some(value) => FlagEvaluation {
                value,
                reason,
                source,
            },
            // A multivariate flag that is off has no variant: the yaml default, with
            // PostHog's reason (disabled, no match, out of rollout, …).
            None if v == FlagValue::Bool(false) => fallback(reason),
            None => fallback(EvalReason::Error(EvalError::TypeMismatch)),
        },
        None => fallback(reason),
    }
}

impl FlagsClient {
    /// A builder (keys, poll interval, snapshot file, remote fallback, exposures, shared cache).
    pub fn builder() -> FlagsClientBuilder {
        FlagsClientBuilder::default()
    }

    /// A client configured from the environment ([`FlagsClientBuilder::from_env`]). Fails only
    /// on malformed settings, never because PostHog is unreachable.
    pub async fn from_env() -> crate::client::Result<FlagsClient> {
        FlagsClientBuilder::from_env()?.build().await
    }

    /// A client that never touches the network and serves the yaml defaults, plus whatever
    /// is forced with [`FlagsClient::with`]. Needs no tokio runtime.
    pub fn offline() -> FlagsClient {
        FlagsClient::from_parts(
            Shared::new(Status::Offline),
            None,
            None,
            None,
            Background::default(),
        )
    }

    /// An offline client for tests: force any flag in one line.
    ///
    /// ```ignore
    /// let flags = FlagsClient::for_tests()
    ///     .with::<ReleaseStudioNewEditor>(true)
    ///     .with_variant::<ExperimentAiSummaryModel>(ExperimentAiSummaryModelVariant::Gpt4o);
    /// ```
    pub fn for_tests() -> FlagsClient {
        FlagsClient::offline()
    }

    pub(crate) fn from_parts(
        shared: Arc<Shared>,
        remote: Option<Remote>,
        exposures: Option<Exposures>,
        capture: Option<Arc<CaptureQueue>>,
        background: Background,
    ) -> FlagsClient {
        FlagsClient {
            inner: Arc::new(Inner {
                shared,
                overrides: ArcSwap::from_pointee(Overrides::default()),
                remote,
                exposures,
                capture,
                background: Mutex::new(background),
            }),
        }
    }

    // ----- typed calls ---------------------------------------------------------------------

    /// Whether the boolean flag `F` is on for `ctx`. Never blocks on the network, never fails:
    /// the yaml default when PostHog cannot answer. Sends a `$feature_flag_called` exposure
    /// (once per user, flag and value).
    pub fn is_enabled<F: BooleanFlag>(&self, ctx: &EvalContext<'_>) -> bool {
        self.evaluate::<F>(ctx).value
    }

    /// The variant of multivariate flag `F` for `ctx` (the yaml default when the flag is off
    /// or PostHog cannot answer). Never blocks on the network, never fails.
    pub fn variant<F: VariantFlag>(&self, ctx: &EvalContext<'_>) -> F::Variant {
        self.evaluate::<F>(ctx).value
    }

    /// The value of any flag with the reason and its source. Local rules only: an
    /// inconclusive answer gives the yaml default with [`EvalReason::Inconclusive`] (see
    /// [`FlagsClient::evaluate_remote`]).
    pub fn evaluate<F: FlagDef>(&self, ctx: &EvalContext<'_>) -> FlagEvaluation<F::Value> {
        self.local::<F>(ctx, true, false).0
    }

    /// Like [`FlagsClient::evaluate`], but when the local rules cannot decide (inconclusive,
    /// or no rules loaded) and the remote fallback is on, asks PostHog's `/flags` for this
    /// flag, waiting at most the remote timeout; any failure gives the yaml default with
    /// the error as reason.
    pub async fn evaluate_remote<F: FlagDef>(
        &self,
        ctx: &EvalContext<'_>,
    ) -> FlagEvaluation<F::Value> {
        let (local, ask) = self.local::<F>(ctx, true, true);
        let Some(remote) = self.inner.remote.as_ref().filter(|_| ask) else {
            return local;
        };
        bump(&self.inner.shared.counters.remote_calls, 1);
        let answer = remote.ask(F::KEY, ctx).await;
        if matches!(answer.reason, EvalReason::Error(_)) {
            bump(&self.inner.shared.counters.remote_failures, 1);
        }
        let value = answer.value.as_ref().map(OwnedValue::as_flag_value);
        let out = typed::<F>(value, answer.reason, Source::Remote);
        if let Some(exposures) = &self.inner.exposures {
            exposures.report(
                ctx,
                Exposure {
                    key: F::KEY,
                    response: value,
                    payload: answer.payload.as_ref(),
                    reason: out.reason,
                    locally_evaluated: false,
                    remote: Some(&answer.meta),
                },
            );
        }
        out
    }

    /// [`FlagsClient::is_enabled`] with the remote fallback of [`FlagsClient::evaluate_remote`].
    pub async fn is_enabled_remote<F: BooleanFlag>(&self, ctx: &EvalContext<'_>) -> bool {
        self.evaluate_remote::<F>(ctx).await.value
    }

    /// [`FlagsClient::variant`] with the remote fallback of [`FlagsClient::evaluate_remote`].
    pub async fn variant_remote<F: VariantFlag>(&self, ctx: &EvalContext<'_>) -> F::Variant {
        self.evaluate_remote::<F>(ctx).await.value
    }

    /// The payload for the value `ctx` gets, decoded into `T`: PostHog's payload for that
    /// value, else the one `flags.yaml` declares for it (so the default's payload when PostHog
    /// cannot answer). `None` when neither exists or neither decodes into `T` (logged). Sends
    /// no exposure (as PostHog's SDKs' payload calls).
    pub fn payload<F: FlagDef, T: DeserializeOwned>(&self, ctx: &EvalContext<'_>) -> Option<T> {
        self.with_payload_of::<F, _>(ctx, |posthog, yaml| {
            posthog
                .and_then(|v| {
                    T::deserialize(v)
                        .map_err(|e| tracing::warn!(flag = F::KEY, error = %e, "PostHog's payload does not decode; trying the yaml's"))
                        .ok()
                })
                .or_else(|| {
                    yaml.and_then(|text| {
                        serde_json::from_str(text)
                            .map_err(|e| tracing::warn!(flag = F::KEY, error = %e, "the yaml payload does not decode"))
                            .ok()
                    })
                })
        })
    }

    /// The payload for the value `ctx` gets, as JSON (see [`FlagsClient::payload`]).
    pub fn payload_value<F: FlagDef>(&self, ctx: &EvalContext<'_>) -> Option<Value> {
        self.with_payload_of::<F, _>(ctx, |posthog, yaml| {
            posthog
                .cloned()
                .or_else(|| yaml.and_then(|text| serde_json::from_str(text).ok()))
        })
    }

    /// The local evaluation behind every call: overrides, then the published rules. Reports
    /// the exposure when `expose` (unless a remote call follows). The flag says whether a
    /// remote call should follow (`remote` asked for, and the rules could not decide).
    fn local<F: FlagDef>(
        &self,
        ctx: &EvalContext<'_>,
        expose: bool,
        remote: bool,
    ) -> (FlagEvaluation<F::Value>, bool) {
        if let Some(value) = self.forced::<F>() {
            let out = FlagEvaluation {
                value,
                reason: EvalReason::Override,
                source: Source::Override,
            };
            return (out, false);
        }
        let remote = remote && self.inner.remote.is_some();
        let loaded = self.inner.shared.loaded.load();
        let (out, response, payload) = match loaded.status {
            Status::Ready(_) => {
                let e = loaded.snapshot.evaluate(F::KEY, ctx);
                let reason = EvalReason::from(e.reason);
                (
                    typed::<F>(e.value, reason, Source::Local),
                    e.value,
                    e.payload,
                )
            }
            Status::Offline => (
                typed::<F>(None, EvalReason::Offline, Source::Default),
                None,
                None,
            ),
            Status::NotLoaded => (
                typed::<F>(
                    None,
                    EvalReason::Error(EvalError::NotLoaded),
                    Source::Default,
                ),
                None,
                None,
            ),
            Status::Dropped(problem) => (
                typed::<F>(None, EvalReason::Error(problem), Source::Default),
                None,
                None,
            ),
        };
        let ask = remote
            && matches!(
                out.reason,
                EvalReason::Inconclusive(_)
                    | EvalReason::Error(EvalError::NotLoaded | EvalError::Unauthorized)
            );
        if expose
            && !ask
            && let Some(exposures) = &self.inner.exposures
        {
            exposures.report(
                ctx,
                Exposure {
                    key: F::KEY,
                    response,
                    payload,
                    reason: out.reason,
                    // As posthog-python: "locally evaluated" means a local value was found.
                    locally_evaluated: response.is_some(),
                    remote: None,
                },
            );
        }
        (out, ask)
    }

    /// Calls `read` with PostHog's payload for the value `ctx` gets (or an override's) and
    /// the yaml's payload for that value.
    fn with_payload_of<F: FlagDef, R>(
        &self,
        ctx: &EvalContext<'_>,
        read: impl FnOnce(Option<&Value>, Option<&'static str>) -> R,
    ) -> R {
        let overrides = self.inner.overrides.load();
        if let Some(forced) = overrides.map.get(F::KEY)
            && let Some(value) = F::Value::from_posthog(forced.value)
        {
            return read(forced.payload.as_ref(), yaml_payload::<F>(value));
        }
        let loaded = self.inner.shared.loaded.load();
        if matches!(loaded.status, Status::Ready(_)) {
            let e = loaded.snapshot.evaluate(F::KEY, ctx);
            let out = typed::<F>(e.value, EvalReason::from(e.reason), Source::Local);
            let posthog = if out.source == Source::Local {
                e.payload
            } else {
                None
            };
            return read(posthog, yaml_payload::<F>(out.value));
        }
        read(None, yaml_payload::<F>(F::DEFAULT_VALUE))
    }

    fn forced<F: FlagDef>(&self) -> Option<F::Value> {
        let overrides = self.inner.overrides.load();
        if overrides.map.is_empty() {
            return None;
        }
        overrides
            .map
            .get(F::KEY)
            .and_then(|f| F::Value::from_posthog(f.value))
    }

    // ----- overrides ---------------------------------------------------------------------

    /// Forces flag `F` to `value` (for every context), and returns the client: one line per
    /// flag in a test. Applies to every clone of this client.
    pub fn with<F: FlagDef>(self, value: F::Value) -> Self {
        self.set_override::<F>(value);
        self
    }

    /// Forces multivariate flag `F` to `variant` (the same as [`FlagsClient::with`]).
    pub fn with_variant<F: VariantFlag>(self, variant: F::Variant) -> Self {
        self.with::<F>(variant)
    }

    /// Forces flag `F` to `value` with this payload (instead of the yaml's for that value).
    pub fn with_payload<F: FlagDef>(self, value: F::Value, payload: Value) -> Self {
        self.force(F::KEY, value.to_posthog(), Some(payload));
        self
    }

    /// Serves these rules (a compiled `/flags/definitions` document) until PostHog sends
    /// others: for tests and examples that exercise real targeting without a network.
    pub fn with_rules(self, rules: Snapshot) -> Self {
        self.inner.shared.publish(rules, RulesSource::Provided);
        self
    }

    /// Forces flag `F` to `value` from now on.
    pub fn set_override<F: FlagDef>(&self, value: F::Value) {
        self.force(F::KEY, value.to_posthog(), None);
    }

    /// Stops forcing flag `F`.
    pub fn remove_override<F: FlagDef>(&self) {
        self.inner.overrides.rcu(|cur| {
            let mut next = Overrides::clone(cur);
            next.map.remove(F::KEY);
            next
        });
    }

    /// Stops forcing every flag.
    pub fn clear_overrides(&self) {
        self.inner.overrides.store(Arc::new(Overrides::default()));
    }

    fn force(&self, key: &'static str, value: FlagValue<'static>, payload: Option<Value>) {
        self.inner.overrides.rcu(|cur| {
            let mut next = Overrides::clone(cur);
            next.map.insert(
                key,
                Forced {
                    value,
                    payload: payload.clone(),
                },
            );
            next
        });
    }

    // ----- events ------------------------------------------------------------------------

    /// `$feature/<key>` for every flag the current rules decide for `ctx` (plus overrides),
    /// and `$active_feature_flags` (the keys whose value is not `false`, sorted): the
    /// properties to add to the application's own events, which the guard job and PostHog's
    /// breakdowns read. Inconclusive flags are left out. Sends no exposures.
    pub fn feature_properties(&self, ctx: &EvalContext<'_>) -> Map<String, Value> {
        let mut values: Vec<(String, FlagValue<'_>)> = Vec::new();
        let loaded = self.inner.shared.loaded.load();
        if matches!(loaded.status, Status::Ready(_)) {
            for key in loaded.snapshot.keys() {
                if let Some(v) = loaded.snapshot.evaluate(key, ctx).value {
                    values.push((key.to_owned(), v));
                }
            }
        }
        let overrides = self.inner.overrides.load();
        for (key, forced) in &overrides.map {
            values.retain(|(k, _)| k != key);
            values.push(((*key).to_owned(), forced.value));
        }
        let mut props = Map::new();
        let mut active: Vec<&str> = Vec::new();
        for (key, v) in &values {
            if v.is_enabled() {
                active.push(key);
            }
            let json = match v {
                FlagValue::Bool(b) => Value::Bool(*b),
                FlagValue::Variant(s) => Value::String((*s).to_owned()),
            };
            props.insert(format!("$feature/{key}"), json);
        }
        active.sort_unstable();
        props.insert(
            "$active_feature_flags".into(),
            Value::Array(
                active
                    .into_iter()
                    .map(|k| Value::String(k.to_owned()))
                    .collect(),
            ),
        );
        props
    }

    /// Queues one of the application's own events for batched capture. Never blocks: `false`
    /// (and counted) when the queue is full or the client captures nothing (no project API
    /// key, offline, shut down).
    pub fn capture(&self, mut event: CaptureEvent) -> bool {
        let Some(queue) = &self.inner.capture else {
            return false;
        };
        if event.timestamp.is_none() {
            event.timestamp = Some(super::timestamp_now());
        }
        event
            .properties
            .entry("$lib")
            .or_insert_with(|| Value::String(super::exposure::LIB_NAME.into()));
        queue.enqueue(event)
    }

    /// [`FlagsClient::capture`] with [`FlagsClient::feature_properties`] for `ctx` added
    /// (properties the event already has are kept).
    pub fn capture_with_flags(&self, mut event: CaptureEvent, ctx: &EvalContext<'_>) -> bool {
        for (k, v) in self.feature_properties(ctx) {
            event.properties.entry(k).or_insert(v);
        }
        let groups = super::exposure::groups_json(ctx);
        if !groups.is_empty() {
            event
                .properties
                .entry("$groups")
                .or_insert(Value::Object(groups));
        }
        self.capture(event)
    }

    /// Sends every queued event now and waits for PostHog's answer.
    pub async fn flush(&self) {
        if let Some(queue) = &self.inner.capture {
            queue.flush().await;
        }
    }

    /// Stops polling, releases the shared cache, sends the queued events and stops the
    /// capture task. Evaluation keeps working on the last rules; later events are dropped.
    pub async fn shutdown(&self) {
        let background = std::mem::take(
            &mut *self
                .inner
                .background
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        if let Some(stop) = background.stop {
            let _ = stop.send(true);
        }
        if let Some(poller) = background.poller {
            let _ = poller.await;
        }
        if let Some(queue) = &self.inner.capture {
            queue.close().await;
        }
        if let Some(task) = background.capture {
            let _ = task.await;
        }
    }

    // ----- introspection -----------------------------------------------------------------

    /// Counters: polls, rule updates, events queued, sent, dropped, remote calls.
    pub fn stats(&self) -> FlagsStats {
        self.inner.shared.counters.read()
    }

    /// Where the rules being served came from, and how many flags they hold.
    pub fn rules_status(&self) -> RulesStatus {
        self.inner.shared.status()
    }
}
