//! A small HTTP service that uses the repository's typed flags (`flags::…`) through
//! [`FlagsClient`], against the local PostHog emulator (or a real PostHog when
//! `POSTHOG_PERSONAL_API_KEY` is set: then everything comes from the environment).
//!
//! ```text
//! cargo run --example web_app                 # serves on http://127.0.0.1:3000 (WEB_APP_ADDR to change)
//! curl 'http://127.0.0.1:3000/editor?user=ana&plan=pro'     # new editor (plan pro is targeted)
//! curl 'http://127.0.0.1:3000/summary?user=ana'             # the experiment's variant and its payload
//! curl 'http://127.0.0.1:3000/flags?user=ana'               # every flag with the reason for its value
//! curl -X POST 'http://127.0.0.1:3000/publish?user=ana'     # an event carrying $feature/<key>
//! cargo test --example web_app                # the same requests, checked
//! ```

use std::collections::HashMap;
use std::convert::Infallible;
use std::error::Error;

use flags::{
    ExperimentAiSummaryModel, ExperimentAiSummaryModelVariant as Model, Flag,
    ReleaseStudioNewEditor,
};
use flags_runtime::app::FlagsClient;
use flags_runtime::client::CaptureEvent;
use flags_runtime::emulator::Emulator;
use flags_runtime::eval::{EvalContext, Properties};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;

/// The payload `flags.yaml` declares for each summary model.
#[derive(Debug, Deserialize)]
struct SummaryConfig {
    model: String,
    max_tokens: u32,
}

/// PostHog's side for the demo: the new editor for the `pro` plan and 20% of everyone else,
/// the summary experiment running on its yaml split.
fn demo_rules() -> serde_json::Value {
    json!({"flags": [
        {"key": "release_studio_new_editor", "name": "New editor", "active": true, "filters": {"groups": [
            {"properties": [{"key": "plan", "value": ["pro"], "operator": "exact", "type": "person"}], "rollout_percentage": 100},
            {"properties": [], "rollout_percentage": 20}]}},
        {"key": "experiment_ai_summary_model", "name": "Summary model", "active": true, "filters": {
            "groups": [{"properties": [], "rollout_percentage": 100}],
            "multivariate": {"variants": [
                {"key": "control", "rollout_percentage": 50},
                {"key": "claude_sonnet", "rollout_percentage": 25},
                {"key": "gpt_4o", "rollout_percentage": 25}]}}}
    ]})
}

/// An emulator seeded with [`demo_rules`], and a client polling it.
async fn demo() -> Result<(Emulator, FlagsClient), Box<dyn Error>> {
    let emulator = Emulator::start().await?;
    emulator.seed(&demo_rules())?;
    let flags = FlagsClient::builder()
        .client(emulator.client_config())
        .build()
        .await?;
    Ok((emulator, flags))
}

fn query(req: &Request<Incoming>) -> HashMap<String, String> {
    req.uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp
}

async fn handle(
    flags: FlagsClient,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let q = query(&req);
    let user = q.get("user").map_or("anonymous", String::as_str);
    // Properties are built once per request; every evaluation below only reads them.
    let mut person = Properties::new();
    if let Some(plan) = q.get("plan") {
        person.insert("plan", plan.as_str());
    }
    let ctx = EvalContext::new(user, &person);
    let resp = match (req.method(), req.uri().path()) {
        (&Method::GET, "/editor") => {
            let editor = if flags.is_enabled::<ReleaseStudioNewEditor>(&ctx) {
                "new editor"
            } else {
                "old editor"
            };
            text(StatusCode::OK, editor.into())
        }
        (&Method::GET, "/summary") => {
            // Exhaustive: a variant added to flags.yaml breaks this match at compile time.
            let writer = match flags.variant::<ExperimentAiSummaryModel>(&ctx) {
                Model::Control => "legacy summarizer",
                Model::ClaudeSonnet => "Claude Sonnet",
                Model::Gpt4o => "GPT-4o",
            };
            let config = flags.payload::<ExperimentAiSummaryModel, SummaryConfig>(&ctx);
            let detail = config.map_or_else(String::new, |c| {
                format!(" ({}, {} tokens)", c.model, c.max_tokens)
            });
            text(StatusCode::OK, format!("{writer}{detail}"))
        }
        (&Method::GET, "/flags") => {
            let editor = flags.evaluate::<ReleaseStudioNewEditor>(&ctx);
            let model = flags.evaluate::<ExperimentAiSummaryModel>(&ctx);
            let body = json!({
                Flag::ReleaseStudioNewEditor.key(): { "value": editor.value, "reason": editor.reason.to_string(), "source": format!("{:?}", editor.source) },
                Flag::ExperimentAiSummaryModel.key(): { "value": model.value.as_str(), "reason": model.reason.to_string(), "source": format!("{:?}", model.source) },
            });
            text(StatusCode::OK, body.to_string())
        }
        (&Method::POST, "/publish") => {
            let event = CaptureEvent {
                event: "post/publish.completed".into(),
                distinct_id: user.into(),
                properties: json!({ "success": true })
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                ..CaptureEvent::default()
            };
            let queued = flags.capture_with_flags(event, &ctx);
            text(
                StatusCode::ACCEPTED,
                if queued { "queued" } else { "dropped" }.into(),
            )
        }
        (&Method::GET, "/health") => text(StatusCode::OK, format!("{:?}", flags.rules_status())),
        _ => text(StatusCode::NOT_FOUND, "not found".into()),
    };
    Ok(resp)
}

/// Serves requests until the listener fails.
async fn serve(listener: TcpListener, flags: FlagsClient) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let flags = flags.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(flags.clone(), req));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let (emulator, flags) = if std::env::var_os("POSTHOG_PERSONAL_API_KEY").is_some() {
        (None, FlagsClient::from_env().await?)
    } else {
        let (emulator, flags) = demo().await?;
        eprintln!("PostHog emulator on {}", emulator.base_url());
        (Some(emulator), flags)
    };
    let addr = std::env::var("WEB_APP_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = TcpListener::bind(&addr).await?;
    // Events are sent at least every second, so stopping with Ctrl-C loses at most that
    // much; a service with a shutdown signal calls `flags.shutdown().await` to send them all.
    eprintln!(
        "web_app on http://{} (Ctrl-C to stop)",
        listener.local_addr()?
    );
    serve(listener, flags.clone()).await;
    flags.shutdown().await;
    drop(emulator);
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// One HTTP/1.1 exchange over a plain socket: the body of the answer.
    async fn call(addr: std::net::SocketAddr, method: &str, path: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer.split_once("\r\n\r\n").unwrap().1.to_owned()
    }

    #[tokio::test]
    async fn serves_the_typed_flags_from_the_emulator() {
        let (emulator, flags) = demo().await.unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve(listener, flags.clone()));

        assert_eq!(
            call(addr, "GET", "/editor?user=ana&plan=pro").await,
            "new editor"
        );
        let summary = call(addr, "GET", "/summary?user=ana").await;
        assert!(
            [
                "legacy summarizer (legacy-summarizer, 512 tokens)",
                "Claude Sonnet (claude-sonnet, 1024 tokens)",
                "GPT-4o (gpt-4o, 1024 tokens)"
            ]
            .contains(&summary.as_str()),
            "{summary}"
        );
        let all: serde_json::Value =
            serde_json::from_str(&call(addr, "GET", "/flags?user=ana&plan=pro").await).unwrap();
        assert_eq!(
            all["release_studio_new_editor"]["reason"],
            "Matched condition set 1"
        );
        assert_eq!(
            call(addr, "POST", "/publish?user=ana&plan=pro").await,
            "queued"
        );

        flags.flush().await;
        let events = emulator.dump()["events"].as_array().cloned().unwrap();
        let publish = events
            .iter()
            .find(|e| e["event"] == "post/publish.completed")
            .unwrap();
        assert_eq!(
            publish["properties"]["$feature/release_studio_new_editor"],
            json!(true)
        );
        // The guard job's exposures: one per user, flag and value.
        let exposures = events
            .iter()
            .filter(|e| e["event"] == "$feature_flag_called")
            .count();
        assert_eq!(exposures, 2);
        flags.shutdown().await;
    }
}
