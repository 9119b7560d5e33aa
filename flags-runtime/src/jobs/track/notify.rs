//! Where a digest goes besides the terminal: a Slack webhook, GitHub's job summary.
//!
//! Delivery fails loudly: the caller must not write any mark after an error here, so the
//! findings are reported again on the next run.

use std::io::Write as _;
use std::path::Path;

use super::digest::Digest;
use crate::jobs::slack::{SlackError, SlackWebhook};

/// Environment variable naming GitHub Actions' job summary file.
pub const ENV_GITHUB_STEP_SUMMARY: &str = "GITHUB_STEP_SUMMARY";

/// Why a digest was not delivered. Never contains the webhook URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// The Slack post failed.
    #[error("the Slack notification failed: {0}")]
    Slack(#[from] SlackError),
    /// The job summary file could not be written.
    #[error("cannot append to the job summary {file}: {message}")]
    StepSummary {
        /// The file.
        file: String,
        /// The I/O error.
        message: String,
    },
}

/// Posts the digest to Slack, unless it is empty (nothing to tell anyone).
pub async fn post_to_slack(hook: &SlackWebhook, digest: &Digest) -> Result<bool, NotifyError> {
    if digest.is_empty() {
        return Ok(false);
    }
    hook.post(&digest.slack()).await?;
    Ok(true)
}

/// Appends the markdown digest to GitHub's job summary file (created if missing).
pub fn append_step_summary(path: &Path, digest: &Digest) -> Result<(), NotifyError> {
    let err = |e: std::io::Error| NotifyError::StepSummary {
        file: path.display().to_string(),
        message: e.to_string(),
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(err)?;
    file.write_all(digest.markdown().as_bytes()).map_err(err)?;
    file.write_all(b"\n").map_err(err)
}
