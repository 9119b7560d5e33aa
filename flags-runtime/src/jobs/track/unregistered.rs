//! Orphans and naming violations: PostHog flags the registry does not declare.
//!
//! Stop-gap until the shared inventory (`jobs::inventory`, owned by sync) lands: the same rules,
//! kept as small as possible so the swap is a one-line change.

use crate::client::FeatureFlag;
use crate::registry::Registry;

use super::findings::{Finding, Rule};

/// The tag that exempts a flag from the naming convention.
pub const NAMING_EXEMPT_TAG: &str = "naming-exempt";

/// Orphans (live PostHog flags not in the registry) and naming violations among them.
pub fn unregistered(registry: &Registry, flags: &[FeatureFlag]) -> Vec<Finding> {
    let mut out = Vec::new();
    for f in flags.iter().filter(|f| !f.deleted && !f.archived) {
        if registry.get(&f.key).is_some() {
            continue;
        }
        let unowned = |rule| Finding {
            key: f.key.clone(),
            owner: None,
            backup_owner: None,
            lifecycle: None,
            rule,
        };
        out.push(unowned(Rule::Orphan));
        let exempt = f.tags.iter().any(|t| t.trim() == NAMING_EXEMPT_TAG);
        if !exempt && let Err(v) = registry.naming.check(&f.key) {
            out.push(unowned(Rule::Naming {
                problem: v.to_string(),
            }));
        }
    }
    out
}
