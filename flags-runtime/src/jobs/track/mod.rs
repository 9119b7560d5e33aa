//! `flagsync track`: follows each flag's lifecycle in PostHog and tells owners what needs doing.
//!
//! One run:
//! 1. **Read** ([`scan`]): every flag (archived ones in a second scan) and every experiment,
//!    list pages only. The marks of earlier runs are tags on the flags ([`marks`]), so they come
//!    with the list at no extra cost. Nothing is read per flag.
//! 2. **Decide** ([`detect`]): released flags (PostHog's `effectively_full_rollout`, see
//!    [`rollout`], or an ended experiment), stale ones (released at least the lifecycle's lifetime
//!    ago, re-told once a month) and expired ones; plus the findings shared with sync
//!    ([`inventory::shared_findings`]: orphans, naming violations, registry keys held by archived
//!    flags); and the tag changes that record the notices.
//! 3. **Tell**: the digest ([`digest`]) to the terminal, GitHub's job summary and Slack
//!    ([`notify`]).
//! 4. **Mark** ([`apply`]): only after every notice went out. A failed notice means no mark at
//!    all, so the next run reports everything again; a lost answer to a mark means the next run
//!    tells the owner twice, never zero times.
//!
//! Cost: the list pages, plus one `bulk_update_tags` call per distinct change (flags sharing a
//! change share the call). A repeat run with nothing new costs the list pages alone.

pub mod apply;
pub mod detect;
pub mod digest;
pub mod experiments;
pub mod findings;
pub mod marks;
pub mod notify;
pub mod plan;
pub mod rollout;

use futures_util::TryStreamExt;

use crate::client::{self, Client, Experiment, ListExperiments};
use crate::jobs::inventory::{self, Inventory};
use crate::jobs::slack::SlackWebhook;
use crate::registry::{Date, Registry};

pub use apply::MarkOutcome;
pub use digest::Digest;
pub use findings::{Finding, ReleasedBy, Rule};
pub use notify::NotifyError;
pub use plan::MarkPlan;

/// What one read of PostHog decided.
#[derive(Debug, Clone)]
pub struct Scan {
    /// The findings to report.
    pub digest: Digest,
    /// The marks to write once the digest went out.
    pub plan: MarkPlan,
    /// Flags read (archived included).
    pub flags_read: usize,
    /// Experiments read.
    pub experiments_read: usize,
}

/// Everything PostHog holds that track looks at: the shared inventory (every non-deleted flag,
/// archived ones included) and every experiment that is not archived, read side by side.
pub async fn read(client: &Client) -> client::Result<(Inventory, Vec<Experiment>)> {
    let experiments = client
        .list_experiments(&ListExperiments::default())
        .try_collect();
    tokio::try_join!(Inventory::fetch(client), experiments)
}

/// Reads PostHog and applies the rules on day `today`. Writes nothing.
pub async fn scan(client: &Client, registry: &Registry, today: Date) -> client::Result<Scan> {
    let (inventory, experiments) = read(client).await?;
    let detection = detect::detect(registry, &inventory, &experiments, today);
    let mut findings = detection.findings;
    findings.extend(
        inventory::shared_findings(registry, &inventory)
            .into_iter()
            .map(Finding::shared),
    );
    Ok(Scan {
        digest: Digest::new(today, findings),
        plan: detection.plan,
        flags_read: inventory.len(),
        experiments_read: experiments.len(),
    })
}

/// A whole run, as a library call: scan, post the digest to `slack` (if any), then mark.
#[derive(Debug)]
pub struct Run {
    /// What was found.
    pub scan: Scan,
    /// The Slack post failed: nothing was marked.
    pub notify_error: Option<NotifyError>,
    /// What marking did (empty when the notice failed).
    pub marks: MarkOutcome,
}

impl Run {
    /// The run failed: a notice or a mark was not delivered.
    pub fn failed(&self) -> bool {
        self.notify_error.is_some() || !self.marks.is_complete()
    }
}

/// Scans, tells Slack, then marks: the order that never loses a notice.
pub async fn run(
    client: &Client,
    registry: &Registry,
    today: Date,
    slack: Option<&SlackWebhook>,
) -> client::Result<Run> {
    let scan = scan(client, registry, today).await?;
    Ok(tell_then_mark(client, scan, slack).await)
}

/// Posts `scan`'s digest to `slack` (if any) and, only if that worked, writes its marks.
pub async fn tell_then_mark(client: &Client, scan: Scan, slack: Option<&SlackWebhook>) -> Run {
    if let Some(hook) = slack
        && let Err(e) = notify::post_to_slack(hook, &scan.digest).await
    {
        return Run {
            scan,
            notify_error: Some(e),
            marks: MarkOutcome::default(),
        };
    }
    let marks = apply::apply(client, &scan.plan).await;
    Run {
        scan,
        notify_error: None,
        marks,
    }
}
