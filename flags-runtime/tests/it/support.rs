//! Shared helpers.

use std::time::Duration;

use flags_runtime::client::{Client, Limits, RetryPolicy};
use flags_runtime::emulator::Emulator;
use serde_json::{Value, json};

/// Retries that do not slow tests down.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 6,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(20),
        max_rate_limit_wait: Duration::from_secs(5),
        jitter: true,
        jitter_seed: Some(7),
    }
}

/// An emulator and a client for it (no client-side rate limits, fast retries).
pub async fn setup() -> (Emulator, Client) {
    let emu = Emulator::start().await.unwrap();
    let client = client_for(&emu);
    (emu, client)
}

pub fn client_for(emu: &Emulator) -> Client {
    Client::new(
        emu.client_config()
            .retry(fast_retry())
            .limits(Limits::unlimited())
            .query_poll_interval(Duration::from_millis(1))
            .build()
            .unwrap(),
    )
    .unwrap()
}

/// A flag for seeding.
pub fn seed_flag(key: &str) -> Value {
    json!({ "key": key, "name": format!("{key} description"), "filters": { "groups": [{ "properties": [], "rollout_percentage": 0 }] } })
}

/// A raw HTTP call with the emulator's personal key (for conformance tests).
pub async fn call(emu: &Emulator, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    call_with(emu, method, path, body, Some(emu.personal_api_key())).await
}

pub async fn call_with(
    emu: &Emulator,
    method: &str,
    path: &str,
    body: Option<Value>,
    key: Option<&str>,
) -> (u16, Value) {
    let (status, _, body) = call_full(emu, method, path, body, key, &[]).await;
    (status, body)
}

/// Status, headers and JSON body (`Null` if empty or not JSON).
pub async fn call_full(
    emu: &Emulator,
    method: &str,
    path: &str,
    body: Option<Value>,
    key: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let http = reqwest::Client::new();
    let url = if path.starts_with("http") {
        path.to_owned()
    } else {
        format!("{}{}", emu.base_url(), path)
    };
    let mut req = http.request(method.parse().unwrap(), url);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.unwrap();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// `/api/projects/1/<rest>`.
pub fn p(rest: &str) -> String {
    format!("/api/projects/1/{rest}")
}
