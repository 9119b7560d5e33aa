//! The digest: a run's findings grouped by owner, rendered as text, markdown (also GitHub's job
//! summary), JSON and a Slack Block Kit message.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use super::findings::Finding;
use crate::jobs::slack::{SlackMessage, escape};
use crate::registry::Date;

/// Heading used for findings about flags that `flags.yaml` does not declare.
pub const UNOWNED: &str = "not in flags.yaml";

/// Slack cuts section text at 3,000 characters; an owner's list is split below that.
const SECTION_CHARS: usize = 2_800;

/// A run's findings on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    /// The day the rules were judged against.
    pub today: Date,
    /// The findings, sorted by owner (unowned last), rule and key.
    pub findings: Vec<Finding>,
}

impl Digest {
    /// A digest of `findings` (sorted here).
    pub fn new(today: Date, mut findings: Vec<Finding>) -> Digest {
        findings.sort_by_key(Finding::sort_key);
        Digest { today, findings }
    }

    /// Nothing to report.
    pub fn is_empty(&self) -> bool {
        self.findings.is_empty()
    }

    /// The findings per owner, owners in order, flags the registry does not declare last.
    pub fn by_owner(&self) -> Vec<(Option<&str>, Vec<&Finding>)> {
        let mut out: Vec<(Option<&str>, Vec<&Finding>)> = Vec::new();
        for f in &self.findings {
            match out.last_mut() {
                Some((owner, list)) if *owner == f.owner.as_deref() => list.push(f),
                _ => out.push((f.owner.as_deref(), vec![f])),
            }
        }
        out
    }

    /// Count per rule (`expired`, `stale`, `released`, then the shared kinds).
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        let mut counts: BTreeMap<_, (&'static str, usize)> = BTreeMap::new();
        for f in &self.findings {
            counts.entry(f.rule.rank()).or_insert((f.rule.kind(), 0)).1 += 1;
        }
        counts.into_values().collect()
    }

    fn summary(&self) -> String {
        let n = self.findings.len();
        if n == 0 {
            return format!("no findings on {}", self.today);
        }
        let parts: Vec<String> = self
            .counts()
            .into_iter()
            .map(|(k, c)| format!("{c} {k}"))
            .collect();
        let owners = self.by_owner().len();
        format!(
            "{n} finding{} on {} ({}) for {owners} owner{}",
            plural(n),
            self.today,
            parts.join(", "),
            plural(owners)
        )
    }

    /// Plain text for a terminal.
    pub fn human(&self) -> String {
        let mut out = format!("flagsync track: {}\n", self.summary());
        for (owner, list) in self.by_owner() {
            let _ = writeln!(out, "\n{}", owner.unwrap_or(UNOWNED));
            for f in list {
                let _ = writeln!(out, "  {:<9} {}: {}", f.rule.kind(), f.key, f.message());
            }
        }
        out
    }

    /// Markdown (GitHub-flavoured): a heading, then one list per owner. Owners are shown as
    /// code so a `@handle` does not mention anyone.
    pub fn markdown(&self) -> String {
        let mut out = format!("## Feature flags: {}\n", self.summary());
        for (owner, list) in self.by_owner() {
            let heading = match owner {
                Some(o) => format!("`{o}`"),
                None => UNOWNED.to_owned(),
            };
            let _ = writeln!(out, "\n### {heading}\n");
            for f in list {
                let _ = writeln!(out, "- **{}** `{}`: {}", f.rule.kind(), f.key, f.message());
            }
        }
        out
    }

    /// One JSON document.
    pub fn json(&self) -> Value {
        let owners: Vec<Value> = self
            .by_owner()
            .into_iter()
            .map(|(owner, list)| {
                json!({
                    "owner": owner,
                    "findings": list.iter().map(|f| f.to_json()).collect::<Vec<_>>(),
                })
            })
            .collect();
        let counts: serde_json::Map<String, Value> = self
            .counts()
            .into_iter()
            .map(|(k, n)| (k.to_owned(), json!(n)))
            .collect();
        json!({
            "date": self.today.to_string(),
            "findings": self.findings.len(),
            "counts": counts,
            "owners": owners,
        })
    }

    /// A Block Kit message: a header, a summary, then each owner's findings (split into several
    /// sections when long, so nothing is cut off; long messages become several posts).
    pub fn slack(&self) -> SlackMessage {
        let mut msg = SlackMessage::new(format!("Feature flags: {}", self.summary()))
            .header(&format!(
                "Feature flags: {} finding{}",
                self.findings.len(),
                plural(self.findings.len())
            ))
            .context(&escape(&self.summary()));
        for (owner, list) in self.by_owner() {
            msg = msg.divider();
            let mut text = format!("*{}*", escape(owner.unwrap_or(UNOWNED)));
            for f in list {
                let line = format!(
                    "\n• *{}* `{}`: {}",
                    f.rule.kind(),
                    escape(&f.key),
                    escape(&f.message())
                );
                if text.len() + line.len() > SECTION_CHARS {
                    msg = msg.section(&text);
                    text = String::new();
                }
                text.push_str(&line);
            }
            if !text.is_empty() {
                msg = msg.section(&text);
            }
        }
        msg
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::track::findings::{ReleasedBy, Rule};

    fn f(key: &str, owner: Option<&str>, rule: Rule) -> Finding {
        Finding {
            key: key.into(),
            owner: owner.map(str::to_owned),
            backup_owner: None,
            lifecycle: Some("release".into()),
            rule,
        }
    }

    fn today() -> Date {
        Date::parse("2026-11-21").expect("date")
    }

    #[test]
    fn findings_are_grouped_by_owner_unowned_last() {
        let released = Rule::Released {
            on: today(),
            by: ReleasedBy::Rollout,
        };
        let d = Digest::new(
            today(),
            vec![
                f(
                    "orphan_x",
                    None,
                    Rule::Shared {
                        kind: crate::jobs::inventory::FindingKind::Orphan,
                        message: "not in the registry".into(),
                    },
                ),
                f("b", Some("@bo"), released.clone()),
                f("a", Some("@ana"), released),
            ],
        );
        let owners: Vec<Option<&str>> = d.by_owner().into_iter().map(|(o, _)| o).collect();
        assert_eq!(owners, [Some("@ana"), Some("@bo"), None]);
        assert!(
            d.human()
                .contains("3 findings on 2026-11-21 (2 released, 1 orphan) for 3 owners")
        );
        assert!(d.markdown().contains("### `@ana`"));
        assert_eq!(d.json()["owners"][2]["owner"], Value::Null);
    }

    #[test]
    fn a_long_owner_list_is_split_not_cut() {
        let findings: Vec<Finding> = (0..300)
            .map(|i| {
                f(
                    &format!("release_studio_flag_number_{i}"),
                    Some("@ana"),
                    Rule::Released {
                        on: today(),
                        by: ReleasedBy::Rollout,
                    },
                )
            })
            .collect();
        let msg = Digest::new(today(), findings).slack();
        let text: String = msg
            .blocks
            .iter()
            .filter_map(|b| b["text"]["text"].as_str())
            .collect();
        for i in 0..300 {
            assert!(
                text.contains(&format!("`release_studio_flag_number_{i}`")),
                "{i}"
            );
        }
        assert!(!text.contains('…'));
        assert!(msg.blocks.iter().all(|b| {
            b["text"]["text"]
                .as_str()
                .is_none_or(|t| t.len() <= SECTION_CHARS)
        }));
    }
}
