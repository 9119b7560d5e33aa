//! A local, stateful PostHog emulator served over real HTTP on 127.0.0.1 (feature `emulator`).
//!
//! It copies what `docs/posthog-api.md` §10 lists: bearer auth and scopes, the flag list, create
//! validation, partial updates, soft delete, activity, status, experiments, HogQL queries (the
//! guard job's shape, computed over stored events), `/flags/definitions` with ETag/304/402,
//! `/flags?v=2` (answered by the runtime's own evaluator, `crate::eval`) and capture, plus
//! PostHog's throttles. Knobs add latency, faults and a switchable
//! `Retry-After`; a request log counts requests per route.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use flags_runtime::emulator::Emulator;
//! let emu = Emulator::start().await?;
//! let client = flags_runtime::client::Client::new(emu.client_config().build().expect("config"))
//!     .expect("client");
//! # Ok(()) }
//! ```
//!
//! Control endpoints (no auth, not logged, never faulted), under `/_emulator/`:
//! `GET health`, `POST reset`, `POST seed` (`{"flags":[…],"experiments":[…],"events":[…]}`),
//! `GET dump` (the state, loadable with `--state`), `GET|PUT knobs` (a partial object merges into
//! [`Knobs`]), `GET|DELETE log` ([`RequestLog`]), `POST keys` (`{"key":…,"scopes":[…]}`),
//! `GET slack` (the messages posted to the Slack webhook sink at `POST /hooks/slack/…`, see
//! [`Emulator::slack_webhook_url`]).

mod flags;
mod http;
mod public;
mod query;
mod state;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use http::{Req, Resp};
pub use query::UNSUPPORTED_CODE;
pub use state::{FaultKind, Faults, Knobs, LoggedRequest, RateLimits, RequestLog, Window};
use state::{PendingQuery, State, Throttle};

/// The default personal API key the emulator accepts (all scopes).
pub const DEFAULT_PERSONAL_API_KEY: &str = "phx_emulator_personal_key";
/// The default project API key (token) the emulator accepts.
pub const DEFAULT_PROJECT_API_KEY: &str = "phc_emulator_project_token";
/// The default project id.
pub const DEFAULT_PROJECT_ID: u64 = 1;

/// A personal API key and its scopes (`*`, or `feature_flag:read`, `activity_log:read`, …;
/// a `:write` scope implies `:read`).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// The key.
    pub key: String,
    /// Its scopes.
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("key", &"***")
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl ApiKey {
    fn allows(&self, needed: &str) -> bool {
        let write = needed
            .strip_suffix(":read")
            .map(|obj| format!("{obj}:write"));
        self.scopes
            .iter()
            .any(|s| s == "*" || s == needed || Some(s) == write.as_ref())
    }
}

struct Shared {
    state: Mutex<State>,
    keys: Mutex<Vec<ApiKey>>,
    project_id: u64,
    project_api_key: String,
    state_file: Option<PathBuf>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Settings for [`Emulator::builder`].
#[derive(Clone)]
pub struct EmulatorBuilder {
    addr: SocketAddr,
    project_id: u64,
    keys: Vec<ApiKey>,
    project_api_key: String,
    knobs: Knobs,
    state_file: Option<PathBuf>,
}

impl std::fmt::Debug for EmulatorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorBuilder")
            .field("addr", &self.addr)
            .field("project_id", &self.project_id)
            .field("keys", &self.keys)
            .field("project_api_key", &"***")
            .field("knobs", &self.knobs)
            .field("state_file", &self.state_file)
            .finish()
    }
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        EmulatorBuilder {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            project_id: DEFAULT_PROJECT_ID,
            keys: vec![ApiKey {
                key: DEFAULT_PERSONAL_API_KEY.into(),
                scopes: vec!["*".into()],
            }],
            project_api_key: DEFAULT_PROJECT_API_KEY.into(),
            knobs: Knobs::default(),
            state_file: None,
        }
    }
}

impl EmulatorBuilder {
    /// Address to listen on (default `127.0.0.1:0`, a free port).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// The project id (default 1).
    pub fn project_id(mut self, id: u64) -> Self {
        self.project_id = id;
        self
    }

    /// Replaces the accepted personal API keys (default: one key with scope `*`).
    pub fn personal_api_keys(mut self, keys: Vec<ApiKey>) -> Self {
        self.keys = keys;
        self
    }

    /// The project API key (token) accepted by `/flags`, definitions and capture.
    pub fn project_api_key(mut self, key: impl Into<String>) -> Self {
        self.project_api_key = key.into();
        self
    }

    /// Initial knobs.
    pub fn knobs(mut self, knobs: Knobs) -> Self {
        self.knobs = knobs;
        self
    }

    /// Load state from this file if it exists, and write it back after every change.
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.state_file = Some(path.into());
        self
    }

    /// Binds and starts serving in the background of the current tokio runtime.
    pub async fn start(self) -> std::io::Result<Emulator> {
        let listener = TcpListener::bind(self.addr).await?;
        let addr = listener.local_addr()?;
        let mut state = match &self.state_file {
            Some(path) if path.exists() => load_state(path)?,
            _ => State::default(),
        };
        if state.knobs == Knobs::default() {
            state.knobs = self.knobs.clone();
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            keys: Mutex::new(self.keys.clone()),
            project_id: self.project_id,
            project_api_key: self.project_api_key.clone(),
            state_file: self.state_file.clone(),
        });
        let task = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(Emulator {
            addr,
            shared,
            task,
            personal_api_key: self.keys.first().map(|k| k.key.clone()).unwrap_or_default(),
        })
    }
}

/// A running emulator. Dropping it stops accepting connections.
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
    personal_api_key: String,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Emulator {
    /// Starts an emulator with default settings on a free port of 127.0.0.1.
    pub async fn start() -> std::io::Result<Emulator> {
        EmulatorBuilder::default().start().await
    }

    /// Settings for a customised emulator.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// `http://127.0.0.1:PORT`: both the private and the public host.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The project id.
    pub fn project_id(&self) -> u64 {
        self.shared.project_id
    }

    /// The first accepted personal API key.
    pub fn personal_api_key(&self) -> &str {
        &self.personal_api_key
    }

    /// The accepted project API key.
    pub fn project_api_key(&self) -> &str {
        &self.shared.project_api_key
    }

    /// A client configuration pointing at this emulator, with its keys and project id. Rate
    /// limits stay at the client's defaults (PostHog's).
    pub fn client_config(&self) -> crate::client::ConfigBuilder {
        crate::client::Config::builder()
            .host(self.base_url())
            .public_host(self.base_url())
            .project_id(self.project_id())
            .personal_api_key(self.personal_api_key())
            .project_api_key(self.project_api_key())
    }

    /// Adds an accepted personal API key.
    pub fn add_key(&self, key: ApiKey) {
        self.shared
            .keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(key);
    }

    /// The knobs now.
    pub fn knobs(&self) -> Knobs {
        self.shared.lock().knobs.clone()
    }

    /// Replaces the knobs.
    pub fn set_knobs(&self, knobs: Knobs) {
        let mut s = self.shared.lock();
        s.knobs = knobs;
        s.rng = None;
        s.request_counter = 0;
    }

    /// The request log.
    pub fn log(&self) -> RequestLog {
        self.shared.lock().log.clone()
    }

    /// Clears the request log.
    pub fn clear_log(&self) {
        self.shared.lock().log = RequestLog::default();
    }

    /// A Slack incoming-webhook URL served by this emulator; what is posted there is kept
    /// (see [`Emulator::slack_messages`]).
    pub fn slack_webhook_url(&self) -> String {
        format!("{}/hooks/slack/T000/B000/emulator", self.base_url())
    }

    /// The messages posted to [`Emulator::slack_webhook_url`], in arrival order.
    pub fn slack_messages(&self) -> Vec<Value> {
        self.shared.lock().slack.clone()
    }

    /// Seeds flags, experiments and events (the body of `POST /_emulator/seed`).
    pub fn seed(&self, seed: &Value) -> Result<Value, String> {
        let resp = seed_state(&mut self.shared.lock(), seed);
        let body: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
        if resp.status == 200 {
            Ok(body)
        } else {
            Err(body.to_string())
        }
    }

    /// Forgets everything: flags, activity, experiments, events, knobs, log.
    pub fn reset(&self) {
        *self.shared.lock() = State::default();
    }

    /// The state as JSON (what `GET /_emulator/dump` answers and `--state` files hold).
    pub fn dump(&self) -> Value {
        serde_json::to_value(&*self.shared.lock()).unwrap_or(Value::Null)
    }
}

/// Runs the emulator on `addr` until the task is cancelled or the listener fails: the
/// `flagsync emulator --port N [--state FILE]` command. With `state_file`, the state is loaded
/// from the file when it exists and written back after every change.
pub async fn serve(addr: SocketAddr, state_file: Option<PathBuf>) -> std::io::Result<()> {
    let mut b = EmulatorBuilder::default().addr(addr);
    if let Some(path) = state_file {
        b = b.state_file(path);
    }
    let emu = b.start().await?;
    tracing::info!(url = %emu.base_url(), "PostHog emulator listening");
    // The accept loop runs until this future is dropped, which drops (and stops) the emulator.
    std::future::pending::<()>().await;
    drop(emu);
    Ok(())
}

fn load_state(path: &Path) -> std::io::Result<State> {
    let text = std::fs::read(path)?;
    let mut state: State = serde_json::from_slice(&text).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })?;
    state.reindex();
    Ok(state)
}

fn save_state(path: &Path, state: &State) {
    let Ok(text) = serde_json::to_vec(state) else {
        return;
    };
    let tmp = path.with_extension("tmp");
    if std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .is_err()
    {
        tracing::warn!(path = %path.display(), "could not write the emulator state file");
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let shared = shared.clone();
        let local = stream.local_addr().ok();
        tokio::spawn(async move {
            let svc = service_fn(move |req| serve_request(shared.clone(), local, req));
            // A connection ends with an error when a fault drops it; nothing to report.
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

/// Returned by the service to make hyper drop the connection without answering.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for Dropped {}

async fn serve_request(
    shared: Arc<Shared>,
    local: Option<SocketAddr>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let origin = match header("host") {
        Some(host) => format!("http://{host}"),
        None => local.map(|a| format!("http://{a}")).unwrap_or_default(),
    };
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req
        .uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let authorization = header("authorization");
    let project_api_key = header("x-posthog-project-api-key");
    let if_none_match = header("if-none-match");
    let body = match Limited::new(req.into_body(), 20 * 1024 * 1024)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes().to_vec(),
        Err(_) => {
            return Ok(to_hyper(Resp::error(
                413,
                "invalid_request",
                "too_large",
                "Request body too large.",
                None,
            )));
        }
    };
    let r = Req {
        method,
        path,
        query,
        origin,
        authorization,
        project_api_key,
        if_none_match,
        body,
    };
    // Handled in a task of its own, so a client that gives up (a timeout) does not cancel it:
    // like PostHog, the emulator finishes a request whose caller has gone.
    match tokio::spawn(async move { handle(&shared, r).await }).await {
        Ok(Some(resp)) => Ok(to_hyper(resp)),
        Ok(None) => Err(Dropped),
        Err(_) => Ok(to_hyper(Resp::error(
            500,
            "server_error",
            "error",
            "A server error occurred.",
            None,
        ))),
    }
}

fn to_hyper(resp: Resp) -> Response<Full<Bytes>> {
    let mut builder = Response::builder().status(resp.status);
    for (k, v) in &resp.headers {
        builder = builder.header(*k, v.as_str());
    }
    builder
        .body(Full::new(Bytes::from(resp.body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// Counts a request out of `in_flight` when its handling ends, however it ends.
struct InFlight<'a>(&'a Shared);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.in_flight = s.in_flight.saturating_sub(1);
    }
}

/// Handles one request; `None` drops the connection.
async fn handle(shared: &Shared, req: Req) -> Option<Resp> {
    if req.path.starts_with("/_emulator") {
        return Some(control(shared, &req));
    }
    let (latency, fault) = {
        let mut s = shared.lock();
        s.in_flight += 1;
        s.log.max_in_flight = s.log.max_in_flight.max(s.in_flight);
        let route = format!("{} {}", req.method, route_template(&req.path));
        let latency = s
            .knobs
            .route_latency_ms
            .get(&route)
            .copied()
            .unwrap_or(s.knobs.latency_ms);
        (latency, s.fault(&req.path, &req.body))
    };
    let _in_flight = InFlight(shared);
    if latency > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
    }
    let mut s = shared.lock();
    let route = route_template(&req.path);
    let early = match fault {
        Some(FaultKind::Status500) => Some(Resp::error(
            500,
            "server_error",
            "error",
            "A server error occurred.",
            None,
        )),
        Some(FaultKind::Status502) => Some(Resp::text(502, "Bad Gateway")),
        Some(FaultKind::Reset) => {
            s.log.record(LoggedRequest {
                method: req.method.clone(),
                route,
                status: 0,
                fault,
            });
            return None;
        }
        _ => None,
    };
    let resp = match early {
        Some(r) => r,
        None => {
            let keys = shared
                .keys
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            dispatch(&mut s, shared, &keys, &req)
        }
    };
    let dropped = fault == Some(FaultKind::ResetAfterProcessing);
    s.log.record(LoggedRequest {
        method: req.method.clone(),
        route,
        status: if dropped { 0 } else { resp.status },
        fault,
    });
    if let Some(path) = &shared.state_file
        && req.method != "GET"
        && resp.status < 400
    {
        save_state(path, &s);
    }
    if dropped { None } else { Some(resp) }
}

/// The route template for the log: numeric ids become `{id}`.
fn route_template(path: &str) -> String {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut out = String::new();
    for (i, seg) in segs.iter().enumerate() {
        out.push('/');
        let is_id = seg.chars().all(|c| c.is_ascii_digit());
        let is_query_id = i > 0 && segs[i - 1] == "query";
        out.push_str(if is_id || is_query_id { "{id}" } else { seg });
    }
    if segs.first() != Some(&"flags") {
        out.push('/');
    }
    out
}

fn throttled(s: &State, wait: f64) -> Resp {
    let secs = wait.ceil().max(1.0) as u64;
    let unit = if secs == 1 { "second" } else { "seconds" };
    let mut r = Resp::error(
        429,
        "throttled_error",
        "throttled",
        &format!("Request was throttled. Expected available in {secs} {unit}."),
        None,
    );
    if s.knobs.retry_after_header {
        r.headers.push(("retry-after", secs.to_string()));
    }
    r
}

/// Personal-API-key authentication: the Authorization header, else `personal_api_key` in the
/// JSON body, else in the query string; only the first one found is tried.
fn authenticate<'k>(keys: &'k [ApiKey], req: &Req, body: &Value) -> Result<&'k ApiKey, Resp> {
    let from_header = req
        .authorization
        .as_deref()
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim);
    let found = from_header
        .or_else(|| body["personal_api_key"].as_str())
        .or_else(|| req.param("personal_api_key"));
    let Some(key) = found else {
        return Err(Resp::error(
            401,
            "authentication_error",
            "not_authenticated",
            "Authentication credentials were not provided.",
            None,
        ));
    };
    keys.iter().find(|k| k.key == key).ok_or_else(|| {
        Resp::error(
            401,
            "authentication_error",
            "authentication_failed",
            "Personal API key found in request Authorization header is invalid.",
            None,
        )
    })
}

fn require(key: &ApiKey, scope: &str) -> Result<(), Resp> {
    if key.allows(scope) {
        Ok(())
    } else {
        Err(Resp::error(
            403,
            "authentication_error",
            "permission_denied",
            &format!("API key missing required scope '{scope}'"),
            None,
        ))
    }
}

fn dispatch(s: &mut State, shared: &Shared, keys: &[ApiKey], req: &Req) -> Resp {
    let segs: Vec<&str> = req.path.split('/').filter(|p| !p.is_empty()).collect();
    let m = req.method.as_str();
    let body = match req.json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    match segs.as_slice() {
        ["hooks", "slack", ..] => slack_webhook(s, m, body),
        ["flags", "definitions"] => {
            if m != "GET" {
                return Resp::method_not_allowed(m);
            }
            let key = match authenticate(keys, req, &Value::Null)
                .and_then(|k| require(k, "feature_flag:read").map(|()| k))
            {
                Ok(k) => k.key.clone(),
                Err(r) => return r,
            };
            let token = req
                .param("token")
                .map(str::to_owned)
                .or_else(|| req.project_api_key.clone());
            if token.as_deref() != Some(shared.project_api_key.as_str()) {
                return Resp::error(
                    401,
                    "authentication_error",
                    "invalid_api_key",
                    "Project API key invalid.",
                    None,
                );
            }
            if s.throttle(&key, Throttle::Definitions).is_some() {
                return Resp::error(
                    429,
                    "validation_error",
                    "rate_limit_exceeded",
                    "Rate limit exceeded",
                    None,
                );
            }
            if s.knobs.quota_limited {
                return Resp::text(402, "Billing limit reached. Please upgrade your plan.");
            }
            let (resp, etag) = public::definitions(s);
            if req.if_none_match.as_deref() == Some(etag.as_str()) {
                let mut r = Resp::empty(304);
                r.headers.push(("etag", etag));
                return r;
            }
            resp
        }
        ["flags"] | ["decide"] => match m {
            "POST" => public::flags(s, req, &body, &shared.project_api_key),
            _ => Resp::method_not_allowed(m),
        },
        ["batch"] | ["i", "v0", "e"] | ["capture"] | ["e"] => match m {
            "POST" => public::capture(
                s,
                &body,
                &shared.project_api_key,
                segs.first() != Some(&"batch"),
            ),
            _ => Resp::method_not_allowed(m),
        },
        ["api", "projects" | "environments", pid, rest @ ..] => {
            let key = match authenticate(keys, req, &body) {
                Ok(k) => k,
                Err(r) => return r,
            };
            if pid.parse::<u64>().ok() != Some(shared.project_id) {
                return Resp::not_found();
            }
            let environments = segs[1] == "environments";
            private(s, key, req, &body, rest, environments)
        }
        _ => Resp::not_found(),
    }
}

/// The scope a private route needs, and its throttle class.
fn scope_for(rest: &[&str], method: &str) -> Option<(&'static str, Throttle)> {
    let write = method != "GET";
    Some(match rest {
        ["feature_flags", "activity"] | ["feature_flags", _, "activity"] => {
            ("activity_log:read", Throttle::Crud)
        }
        ["feature_flags", ..] => (
            if write {
                "feature_flag:write"
            } else {
                "feature_flag:read"
            },
            Throttle::Crud,
        ),
        ["experiments", ..] => (
            if write {
                "experiment:write"
            } else {
                "experiment:read"
            },
            Throttle::Crud,
        ),
        ["query"] => ("query:read", Throttle::Query),
        ["query", _] => ("query:read", Throttle::ClickHouse),
        _ => return None,
    })
}

fn private(
    s: &mut State,
    key: &ApiKey,
    req: &Req,
    body: &Value,
    rest: &[&str],
    environments: bool,
) -> Resp {
    let m = req.method.as_str();
    let Some((scope, class)) = scope_for(rest, m) else {
        return Resp::not_found();
    };
    // feature_flags and experiments exist only under /api/projects/.
    if environments && !matches!(rest.first(), Some(&"query")) {
        return Resp::not_found();
    }
    if let Err(r) = require(key, scope) {
        return r;
    }
    if let Some(wait) = s.throttle(&key.key, class) {
        return throttled(s, wait);
    }
    let id = |seg: &str| seg.parse::<i64>().ok();
    match (m, rest) {
        ("GET", ["feature_flags"]) => flags::list(s, req),
        ("POST", ["feature_flags"]) => flags::create(s, body),
        ("POST", ["feature_flags", "bulk_update_tags"]) => flags::bulk_update_tags(s, body),
        ("GET", ["feature_flags", "activity"]) => flags::activity_log(s, req, None),
        (_, ["feature_flags", "activity" | "bulk_update_tags"]) => Resp::method_not_allowed(m),
        (_, ["feature_flags", fid, tail @ ..]) => {
            let Some(fid) = id(fid) else {
                return Resp::not_found();
            };
            match (m, tail) {
                ("GET", []) => flags::get(s, fid),
                ("PATCH" | "PUT", []) => flags::patch(s, fid, body),
                ("DELETE", []) => Resp::empty(405),
                ("GET", ["activity"]) => flags::activity_log(s, req, Some(fid)),
                ("GET", ["status"]) => flags::status(s, fid),
                (_, ["activity" | "status"]) => Resp::method_not_allowed(m),
                _ => Resp::not_found(),
            }
        }
        ("GET", ["experiments"]) => flags::list_experiments(s, req),
        ("POST", ["experiments"]) => {
            let obj = body.as_object().cloned().unwrap_or_default();
            match flags::insert_experiment(s, &obj, true) {
                Ok(e) => Resp::json(201, &flags::experiment_json(&e)),
                Err(r) => r,
            }
        }
        (_, ["experiments", eid]) => {
            let Some(eid) = id(eid) else {
                return Resp::not_found();
            };
            match m {
                "GET" => s
                    .experiments
                    .iter()
                    .find(|e| e.id == eid && !e.deleted)
                    .map_or_else(Resp::not_found, |e| Resp::ok(&flags::experiment_json(e))),
                "DELETE" => Resp::empty(405),
                _ => Resp::method_not_allowed(m),
            }
        }
        ("POST", ["query"]) => run_query(s, body),
        ("GET", ["query", qid]) => poll_query(s, qid),
        _ => Resp::method_not_allowed(m),
    }
}

fn run_query(s: &mut State, body: &Value) -> Resp {
    let result = query::run(s, body);
    let asks_async = matches!(
        body["refresh"].as_str(),
        Some("async" | "force_async" | "lazy_async")
    ) || body["async"].as_bool() == Some(true);
    let polls = if s.knobs.query_async_polls > 0 {
        s.knobs.query_async_polls
    } else {
        u32::from(asks_async)
    };
    if polls == 0 {
        return match result {
            Ok(v) => Resp::ok(&v),
            Err((status, v)) => Resp::json(status, &v),
        };
    }
    let id = format!("emulator-query-{}", s.id());
    s.queries.insert(
        id.clone(),
        PendingQuery {
            polls_left: polls,
            result,
        },
    );
    Resp::json(
        202,
        &json!({ "query_status": { "id": id, "team_id": 1, "query_async": true, "complete": false, "error": false } }),
    )
}

fn poll_query(s: &mut State, qid: &str) -> Resp {
    let Some(pending) = s.queries.get_mut(qid) else {
        return Resp::not_found();
    };
    if pending.polls_left > 1 {
        pending.polls_left -= 1;
        return Resp::json(
            202,
            &json!({ "query_status": { "id": qid, "team_id": 1, "query_async": true, "complete": false, "error": false } }),
        );
    }
    pending.polls_left = 0;
    match &pending.result {
        Ok(v) => Resp::ok(
            &json!({ "query_status": { "id": qid, "team_id": 1, "query_async": true, "complete": true, "error": false, "results": v } }),
        ),
        Err((_, v)) => Resp::json(
            400,
            &json!({ "query_status": { "id": qid, "team_id": 1, "query_async": true, "complete": true, "error": true, "error_message": v["detail"] } }),
        ),
    }
}

fn seed_state(s: &mut State, body: &Value) -> Resp {
    let mut created = (0, 0, 0);
    for f in body["flags"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let Some(key) = f["key"].as_str() else {
            return Resp::validation("required", "every seeded flag needs a key", Some("key"));
        };
        if !f["deleted"].as_bool().unwrap_or(false)
            && s.flags.iter().any(|x| !x.deleted && x.key == key)
        {
            return Resp::validation(
                "unique",
                &format!("seed: a flag with key {key:?} exists"),
                Some("key"),
            );
        }
        let id = s.id();
        let now = s.now_ms();
        let created_at = f["created_at"]
            .as_str()
            .and_then(state::parse_iso)
            .unwrap_or(now);
        let updated_at = f["updated_at"]
            .as_str()
            .and_then(state::parse_iso)
            .unwrap_or(created_at);
        s.flags.push(state::Flag {
            id,
            key: key.to_owned(),
            name: f["name"].as_str().unwrap_or_default().to_owned(),
            filters: if f["filters"].is_object() {
                f["filters"].clone()
            } else {
                json!({ "groups": [] })
            },
            active: f["active"].as_bool().unwrap_or(true),
            archived: f["archived"].as_bool().unwrap_or(false),
            deleted: f["deleted"].as_bool().unwrap_or(false),
            tags: state::normalize_tags(f["tags"].as_array().map(Vec::as_slice).unwrap_or(&[])),
            version: f["version"].as_i64().unwrap_or(1),
            created_at,
            updated_at,
            ensure_experience_continuity: f["ensure_experience_continuity"]
                .as_bool()
                .unwrap_or(false),
        });
        created.0 += 1;
    }
    for e in body["experiments"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let obj = e.as_object().cloned().unwrap_or_default();
        if flags::insert_experiment(s, &obj, false).is_ok() {
            created.1 += 1;
        }
    }
    for e in body["events"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        if public::store_event(s, e) {
            created.2 += 1;
        }
    }
    Resp::ok(&json!({ "flags": created.0, "experiments": created.1, "events": created.2 }))
}

fn merge_knobs(current: &Knobs, patch: &Value) -> Result<Knobs, String> {
    let mut v = serde_json::to_value(current).map_err(|e| e.to_string())?;
    if let (Some(obj), Some(p)) = (v.as_object_mut(), patch.as_object()) {
        for (k, val) in p {
            obj.insert(k.clone(), val.clone());
        }
    }
    serde_json::from_value(v).map_err(|e| e.to_string())
}

/// A Slack incoming webhook: stores the message (`GET /_emulator/slack` reads them) and answers
/// `ok` as text, as Slack does; the `slack_status` knob makes it fail.
fn slack_webhook(s: &mut State, method: &str, body: Value) -> Resp {
    if method != "POST" {
        return Resp::method_not_allowed(method);
    }
    if let Some(status) = s.knobs.slack_status {
        return Resp::text(status, if status == 404 { "no_service" } else { "error" });
    }
    if body.get("text").is_none() && body.get("blocks").is_none() {
        return Resp::text(400, "no_text");
    }
    s.slack.push(body);
    Resp::text(200, "ok")
}

fn control(shared: &Shared, req: &Req) -> Resp {
    let body = match req.json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let what = req.path.trim_start_matches("/_emulator").trim_matches('/');
    let mut s = shared.lock();
    match (req.method.as_str(), what) {
        ("GET", "health") => Resp::ok(&json!({ "ok": true })),
        ("POST", "reset") => {
            *s = State::default();
            Resp::ok(&json!({ "reset": true }))
        }
        ("POST", "seed") => seed_state(&mut s, &body),
        ("GET", "dump") => Resp::ok(&serde_json::to_value(&*s).unwrap_or(Value::Null)),
        ("GET", "knobs") => Resp::ok(&serde_json::to_value(&s.knobs).unwrap_or(Value::Null)),
        ("PUT" | "POST" | "PATCH", "knobs") => match merge_knobs(&s.knobs, &body) {
            Ok(k) => {
                s.knobs = k;
                s.rng = None;
                s.request_counter = 0;
                Resp::ok(&serde_json::to_value(&s.knobs).unwrap_or(Value::Null))
            }
            Err(e) => Resp::validation("invalid_input", &e, Some("knobs")),
        },
        ("GET", "slack") => Resp::ok(&Value::Array(s.slack.clone())),
        ("GET", "log") => Resp::ok(&serde_json::to_value(&s.log).unwrap_or(Value::Null)),
        ("DELETE", "log") => {
            s.log = RequestLog::default();
            Resp::ok(&json!({}))
        }
        ("POST", "keys") => {
            let key = body["key"].as_str().unwrap_or_default();
            if key.is_empty() {
                return Resp::validation("required", "key is required", Some("key"));
            }
            let scopes = body["scopes"]
                .as_array()
                .map(|v| {
                    v.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_else(|| vec!["*".to_owned()]);
            shared
                .keys
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(ApiKey {
                    key: key.to_owned(),
                    scopes,
                });
            Resp::ok(&json!({ "added": true }))
        }
        _ => Resp::not_found(),
    }
}
