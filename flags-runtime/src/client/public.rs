//! Calls to the public host: flag definitions for local evaluation, remote evaluation and capture.

use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::Method;
use reqwest::header::IF_NONE_MATCH;
use serde_json::json;

use super::{
    Auth, CaptureEvent, Client, Definitions, FlagsRequest, FlagsResponse, LimitClass, Result,
};

const ROUTE_DEFINITIONS: &str = "/flags/definitions";
const ROUTE_FLAGS_V2: &str = "/flags?v=2";
const ROUTE_BATCH: &str = "/batch/";

impl Client {
    /// `GET /flags/definitions` on the public host, with the personal API key and the project
    /// token in headers (as posthog-rs sends them; the token is not put in the URL, so it never
    /// lands in a log line). With `etag`, a 304 answers [`Definitions::NotModified`]. A 402
    /// (over quota) is an [`super::Error::Api`] with status 402: SDKs then stop evaluating locally.
    pub async fn flag_definitions(&self, etag: Option<&str>) -> Result<Definitions> {
        let url = self.join(
            &self.inner.config.public_host,
            "/flags/definitions?send_cohorts",
        )?;
        let mut call = self.call(Method::GET, ROUTE_DEFINITIONS, url);
        call.auth = Auth::PersonalAndProject;
        call.class = LimitClass::Public;
        if let Some(tag) = etag {
            call.headers.push((IF_NONE_MATCH, tag.to_owned()));
        }
        let raw = self.execute(&call).await?;
        if raw.status == 304 {
            return Ok(Definitions::NotModified);
        }
        Ok(Definitions::Modified {
            definitions: Self::decode(ROUTE_DEFINITIONS, &raw.body)?,
            etag: raw.etag,
        })
    }

    /// `POST /flags?v=2`: remote evaluation for one user.
    pub async fn flags(&self, request: &FlagsRequest) -> Result<FlagsResponse> {
        let token = self.inner.config.require_project_key()?;
        let url = self.join(&self.inner.config.public_host, "/flags?v=2")?;
        let mut call = self.call(Method::POST, ROUTE_FLAGS_V2, url);
        call.auth = Auth::None;
        call.class = LimitClass::Public;
        let mut body = serde_json::to_value(request).unwrap_or_default();
        if let Some(obj) = body.as_object_mut() {
            obj.insert("token".into(), json!(token.expose()));
        }
        Self::json_body(&mut call, &body)?;
        self.fetch(&call).await
    }

    /// `POST /batch/`: captures events. Each event without a `uuid` gets one, so a batch retried
    /// after a lost answer is de-duplicated by PostHog instead of counted twice.
    pub async fn capture_batch(&self, events: &[CaptureEvent]) -> Result<()> {
        let token = self.inner.config.require_project_key()?;
        let url = self.join(&self.inner.config.public_host, "/batch/")?;
        let mut call = self.call(Method::POST, ROUTE_BATCH, url);
        call.auth = Auth::None;
        call.class = LimitClass::Public;
        let batch: Vec<CaptureEvent> = events
            .iter()
            .map(|e| CaptureEvent {
                uuid: e.uuid.clone().or_else(|| Some(new_uuid())),
                ..e.clone()
            })
            .collect();
        Self::json_body(
            &mut call,
            &json!({ "api_key": token.expose(), "historical_migration": false, "batch": batch }),
        )?;
        self.execute(&call).await.map(|_| ())
    }
}

/// A random (version 4) UUID, from std's randomly seeded hasher and a counter; no extra crate.
pub(crate) fn new_uuid() -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let half = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(n);
        h.write_u64(salt);
        h.finish()
    };
    let (hi, lo) = (half(1), half(2));
    let hi = (hi & !0xF000) | 0x4000; // version 4
    let lo = (lo & !(0xC000 << 48)) | (0x8000 << 48); // variant 10
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    )
}
