//! Slack incoming webhooks: Block Kit messages for the `track` digest and `guard` alerts.
//!
//! The webhook URL is a secret (it carries the token), so it is held in a [`Secret`] and never
//! appears in `Debug` output or errors. A message longer than Slack's 50 blocks is sent as
//! several posts. 429s wait for Slack's `Retry-After`, 5xx and broken connections are retried a
//! few times, and any other answer is an error: callers treat a failed notice as a failed run.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use crate::client::Secret;

/// Environment variable holding the webhook URL (`--slack-webhook` overrides it).
pub const ENV_SLACK_WEBHOOK_URL: &str = "SLACK_WEBHOOK_URL";

/// Slack accepts at most this many blocks per message.
pub const MAX_BLOCKS: usize = 50;

/// Slack truncates section text beyond this many characters; we cut a little earlier.
const MAX_SECTION_CHARS: usize = 2900;

/// Why a message was not delivered. The webhook URL is never part of it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SlackError {
    /// The URL is not an http(s) URL.
    #[error("the Slack webhook URL is not an http(s) URL")]
    BadUrl,
    /// The request could not be sent.
    #[error("Slack webhook: connection failed: {0}")]
    Connect(String),
    /// Slack answered with an error status (`body` is Slack's short error code, e.g.
    /// `invalid_blocks` or `no_service`).
    #[error("Slack webhook answered {status}: {body}")]
    Status {
        /// HTTP status.
        status: u16,
        /// Slack's answer, trimmed.
        body: String,
    },
}

/// A Block Kit message: `text` is the notification fallback, `blocks` the layout.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SlackMessage {
    /// Plain-text fallback shown in notifications.
    pub text: String,
    /// Block Kit blocks.
    pub blocks: Vec<Value>,
}

impl SlackMessage {
    /// A message with this fallback text and no blocks yet.
    pub fn new(text: impl Into<String>) -> Self {
        SlackMessage {
            text: text.into(),
            blocks: Vec::new(),
        }
    }

    /// Adds a header block (plain text, at most 150 characters).
    pub fn header(mut self, text: &str) -> Self {
        let text: String = text.chars().take(150).collect();
        self.blocks.push(json!({
            "type": "header",
            "text": { "type": "plain_text", "text": text, "emoji": true }
        }));
        self
    }

    /// Adds a section of mrkdwn text (cut to Slack's limit).
    pub fn section(mut self, mrkdwn: &str) -> Self {
        self.blocks.push(json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": cut(mrkdwn) }
        }));
        self
    }

    /// Adds a context block (small grey mrkdwn text).
    pub fn context(mut self, mrkdwn: &str) -> Self {
        self.blocks.push(json!({
            "type": "context",
            "elements": [ { "type": "mrkdwn", "text": cut(mrkdwn) } ]
        }));
        self
    }

    /// Adds a divider.
    pub fn divider(mut self) -> Self {
        self.blocks.push(json!({ "type": "divider" }));
        self
    }

    /// The message as posts of at most [`MAX_BLOCKS`] blocks each, all with the fallback text.
    pub fn posts(&self) -> Vec<Value> {
        if self.blocks.is_empty() {
            return vec![json!({ "text": self.text })];
        }
        let parts = self.blocks.chunks(MAX_BLOCKS).count();
        self.blocks
            .chunks(MAX_BLOCKS)
            .enumerate()
            .map(|(i, blocks)| {
                let text = if parts == 1 {
                    self.text.clone()
                } else {
                    format!("{} ({}/{parts})", self.text, i + 1)
                };
                json!({ "text": text, "blocks": blocks })
            })
            .collect()
    }
}

fn cut(text: &str) -> String {
    if text.chars().count() <= MAX_SECTION_CHARS {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(MAX_SECTION_CHARS).collect();
    out.push_str("\n…");
    out
}

/// Escapes `&`, `<` and `>` as Slack's mrkdwn requires for user text.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A Slack incoming webhook.
#[derive(Debug, Clone)]
pub struct SlackWebhook {
    url: Secret,
    http: reqwest::Client,
    attempts: u32,
}

impl SlackWebhook {
    /// A webhook posting to `url` (`https://hooks.slack.com/services/…`).
    pub fn new(url: impl Into<String>) -> Result<Self, SlackError> {
        let url = url.into();
        let parsed = reqwest::Url::parse(&url).map_err(|_| SlackError::BadUrl)?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(SlackError::BadUrl);
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| SlackError::Connect(e.without_url().to_string()))?;
        Ok(SlackWebhook {
            url: Secret::new(url),
            http,
            attempts: 3,
        })
    }

    /// The webhook named by `explicit` (a command-line flag), else by `SLACK_WEBHOOK_URL` read
    /// through `lookup`; `None` when neither is set.
    pub fn from_option_or_env(
        explicit: Option<&str>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Option<Result<Self, SlackError>> {
        let url = explicit
            .map(str::to_owned)
            .or_else(|| lookup(ENV_SLACK_WEBHOOK_URL))
            .filter(|u| !u.trim().is_empty())?;
        Some(Self::new(url.trim()))
    }

    /// Posts `message` (several posts when it has more than [`MAX_BLOCKS`] blocks). The first
    /// post that fails ends the call with its error.
    pub async fn post(&self, message: &SlackMessage) -> Result<(), SlackError> {
        for body in message.posts() {
            self.post_one(&body).await?;
        }
        Ok(())
    }

    async fn post_one(&self, body: &Value) -> Result<(), SlackError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= self.attempts;
            let sent = self
                .http
                .post(self.url.expose())
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await;
            let resp = match sent {
                Ok(r) => r,
                Err(e) if last => return Err(SlackError::Connect(e.without_url().to_string())),
                Err(_) => {
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
            };
            let status = resp.status().as_u16();
            if (200..300).contains(&status) {
                return Ok(());
            }
            let wait = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|s| Duration::from_secs(s.min(60)));
            let text = resp.text().await.unwrap_or_default();
            let retryable = status == 429 || status >= 500;
            if !retryable || last {
                return Err(SlackError::Status {
                    status,
                    body: text.trim().chars().take(200).collect(),
                });
            }
            tokio::time::sleep(wait.unwrap_or_else(|| backoff(attempt))).await;
        }
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250 * 2u64.pow(attempt.min(6)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_split_at_fifty_blocks() {
        let mut m = SlackMessage::new("digest");
        for i in 0..120 {
            m = m.section(&format!("item {i}"));
        }
        let posts = m.posts();
        assert_eq!(posts.len(), 3);
        assert_eq!(posts[0]["blocks"].as_array().map(Vec::len), Some(50));
        assert_eq!(posts[2]["blocks"].as_array().map(Vec::len), Some(20));
        assert_eq!(posts[2]["text"], "digest (3/3)");
    }

    #[test]
    fn the_url_never_prints() {
        let hook = SlackWebhook::new("https://hooks.slack.com/services/T1/B2/very-secret")
            .expect("valid url");
        assert!(!format!("{hook:?}").contains("very-secret"));
        assert!(matches!(
            SlackWebhook::new("ftp://x"),
            Err(SlackError::BadUrl)
        ));
    }

    #[test]
    fn user_text_is_escaped() {
        assert_eq!(escape("a<b>&c"), "a&lt;b&gt;&amp;c");
    }
}
