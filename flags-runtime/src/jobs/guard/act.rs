//! The only write the guard makes: `PATCH {active: false}` on enforced regressions, strongest
//! evidence first, at most `max_disables` per run. A refusal (400: other flags depend on it;
//! 409: an approval policy holds the change) is reported as `blocked` and never retried; the
//! guard never switches anything on.

use crate::client::{Client, Error, FlagPatch};

use super::report::{Action, Decision, DecisionKind, PosthogAnswer, Reason};

/// How far past its alarm level a decision's strongest test is.
fn strength(d: &Decision) -> f64 {
    d.tests
        .iter()
        .map(|t| t.ln_evidence - t.threshold)
        .fold(f64::NEG_INFINITY, f64::max)
}

/// Disables the enforced regressions in `decisions` (or, in a dry run, marks them
/// `would_disable`), strongest first, until `max_disables` flags are off; the rest keep
/// `regression` with `cap_reached`. A refused disable switches nothing off, so it does not use
/// the cap. Regressions of flags without `enforce` are only reported.
pub async fn enforce(
    client: &Client,
    decisions: &mut [Decision],
    max_disables: usize,
    dry_run: bool,
) {
    let mut order: Vec<usize> = (0..decisions.len())
        .filter(|&i| decisions[i].decision == DecisionKind::Regression && decisions[i].enforce)
        .collect();
    order.sort_by(|&a, &b| {
        strength(&decisions[b])
            .total_cmp(&strength(&decisions[a]))
            .then_with(|| decisions[a].flag.cmp(&decisions[b].flag))
    });
    let mut used = 0;
    for i in order {
        let d = &mut decisions[i];
        if used >= max_disables {
            d.action = Action::CapReached;
            d.summary = format!(
                "{} (not disabled: the cap of {max_disables} disables per run was reached)",
                d.summary
            );
            continue;
        }
        if dry_run {
            used += 1;
            d.action = Action::WouldDisable;
            continue;
        }
        let patch = FlagPatch {
            active: Some(false),
            ..FlagPatch::default()
        };
        match client.update_flag(d.flag_id, &patch).await {
            Ok(_) => {
                used += 1;
                d.decision = DecisionKind::Disabled;
                d.action = Action::Disabled;
            }
            Err(err) => {
                let status = err.status();
                let refused = matches!(status, Some(400 | 409));
                let detail = match &err {
                    Error::Api { detail, .. } => detail.clone(),
                    other => other.to_string(),
                };
                d.decision = DecisionKind::Blocked;
                d.reason = Some(if refused {
                    Reason::PosthogRefused
                } else {
                    Reason::PosthogError
                });
                d.action = Action::DisableFailed;
                d.summary = format!(
                    "{}; the disable was {} ({}): {detail}",
                    d.summary,
                    if refused { "refused" } else { "not done" },
                    status.map_or_else(|| "no answer".to_owned(), |s| s.to_string())
                );
                d.posthog = Some(PosthogAnswer { status, detail });
            }
        }
    }
}
