//! The Slack alert: one Block Kit message per run with regressions or disables (failed disables
//! included), nothing otherwise.

use crate::jobs::slack::{SlackMessage, escape};

use super::report::{Action, Decision, DecisionKind, GuardReport, Reason};

fn wants_alert(d: &Decision) -> bool {
    match d.decision {
        DecisionKind::Regression | DecisionKind::Disabled => true,
        DecisionKind::Blocked => matches!(
            d.reason,
            Some(Reason::PosthogRefused | Reason::PosthogError)
        ),
        DecisionKind::Healthy | DecisionKind::InsufficientData => false,
    }
}

fn headline(d: &Decision) -> &'static str {
    match (d.decision, d.action) {
        (DecisionKind::Disabled, _) => ":octagonal_sign: disabled",
        (DecisionKind::Blocked, _) => ":warning: regression, disable refused",
        (_, Action::WouldDisable) => ":mag: regression (dry run: would disable)",
        (_, Action::CapReached) => ":warning: regression, not disabled (cap reached)",
        _ => ":warning: regression (report only)",
    }
}

/// The alert for `report`, or `None` when nothing regressed.
pub fn message(report: &GuardReport) -> Option<SlackMessage> {
    let flagged: Vec<&Decision> = report.decisions.iter().filter(|d| wants_alert(d)).collect();
    if flagged.is_empty() {
        return None;
    }
    let disabled = flagged
        .iter()
        .filter(|d| d.decision == DecisionKind::Disabled)
        .count();
    let title = format!(
        "flagsync guard: {} regression(s), {disabled} flag(s) disabled",
        flagged.len()
    );
    let mut m = SlackMessage::new(title.clone()).header(&title);
    for d in flagged {
        m = m.section(&format!(
            "*`{}`* {}\n{}",
            escape(&d.flag),
            headline(d),
            escape(&d.summary)
        ));
    }
    Some(m.context(&format!(
        "run `{}` at {}{} · anytime-valid test, α per flag over the whole rollout",
        escape(&report.run.run_id),
        escape(&report.run.at),
        if report.run.dry_run {
            " · dry run"
        } else {
            ""
        }
    )))
}
