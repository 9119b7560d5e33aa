//! The tag changes a run will make, grouped so each `bulk_update_tags` call carries as many
//! flags as PostHog allows: the cost is one request per distinct change, not per flag.

use std::collections::BTreeMap;

/// PostHog's `bulk_update_tags` limit on ids per call.
pub const MAX_IDS: usize = 500;
/// PostHog's limit on ids × tags per call.
pub const MAX_OPERATIONS: usize = 10_000;

/// Add or remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// Add the tags (atomic and additive).
    Add,
    /// Remove the tags.
    Remove,
}

/// One `bulk_update_tags` call: the same tags added to (or removed from) these flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagBatch {
    /// Add or remove.
    pub change: Change,
    /// The tags.
    pub tags: Vec<String>,
    /// The flags, as (id, key).
    pub flags: Vec<FlagRef>,
}

/// A flag as a plan names it: (id, key).
type FlagRef = (i64, String);

/// Every tag change of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MarkPlan {
    /// (change, sorted tags) → the flags it applies to.
    groups: BTreeMap<(Change, Vec<String>), Vec<FlagRef>>,
}

impl MarkPlan {
    /// Plans `change` of `tags` on flag `id` (`key` names it in reports).
    pub fn push(&mut self, change: Change, tags: Vec<String>, id: i64, key: &str) {
        let mut tags = tags;
        tags.sort();
        tags.dedup();
        if tags.is_empty() {
            return;
        }
        let flags = self.groups.entry((change, tags)).or_default();
        if !flags.iter().any(|(i, _)| *i == id) {
            flags.push((id, key.to_owned()));
        }
    }

    /// Nothing to change.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// How many flags have at least one change.
    pub fn flags(&self) -> usize {
        let mut ids: Vec<i64> = self
            .groups
            .values()
            .flat_map(|f| f.iter().map(|(id, _)| *id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }

    /// The calls to make, within PostHog's per-call limits; additions first.
    pub fn batches(&self) -> Vec<TagBatch> {
        let mut out = Vec::new();
        for ((change, tags), flags) in &self.groups {
            let per_call = (MAX_OPERATIONS / tags.len().max(1)).clamp(1, MAX_IDS);
            for chunk in flags.chunks(per_call) {
                out.push(TagBatch {
                    change: *change,
                    tags: tags.clone(),
                    flags: chunk.to_vec(),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_sharing_a_change_share_a_call() {
        let mut plan = MarkPlan::default();
        for id in 0..1_200 {
            plan.push(
                Change::Add,
                vec!["b".into(), "a".into()],
                id,
                &format!("k{id}"),
            );
        }
        plan.push(Change::Add, vec!["a".into(), "b".into()], 5, "k5");
        plan.push(Change::Remove, vec!["c".into()], 7, "k7");
        plan.push(Change::Add, vec![], 8, "k8");
        let batches = plan.batches();
        let sizes: Vec<usize> = batches.iter().map(|b| b.flags.len()).collect();
        assert_eq!(sizes, [500, 500, 200, 1]);
        assert_eq!(batches[0].tags, ["a", "b"]);
        assert_eq!(batches[3].change, Change::Remove);
        assert_eq!(plan.flags(), 1_200);
    }
}
