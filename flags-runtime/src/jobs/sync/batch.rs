//! Grouping tag additions into `bulk_update_tags` requests.
//!
//! `POST …/feature_flags/bulk_update_tags/` with `action: "add"` adds the same tags to many
//! flags in one atomic, additive request (posthog-api.md §1.7), within PostHog's limits: at
//! most 500 ids and 100 tags, and ids × tags at most 10,000. Adding a tag a flag already has
//! changes nothing, so flags can share a request when they lack the same tags. Two groupings
//! are computed — by the exact set of missing tags, and by single tag — and the one with fewer
//! requests is used.

use std::collections::BTreeMap;

use super::plan::PlannedTags;

/// Most ids in one request.
pub const MAX_IDS: usize = 500;
/// Most tags in one request.
pub const MAX_TAGS: usize = 100;
/// Most ids × tags in one request.
pub const MAX_PAIRS: usize = 10_000;

/// One `bulk_update_tags` request: add `tags` to every flag in `ids`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagBatch {
    /// Flag ids.
    pub ids: Vec<i64>,
    /// Their keys, in the same order (for reports).
    pub keys: Vec<String>,
    /// The tags to add.
    pub tags: Vec<String>,
}

/// The fewest requests that add every planned tag.
pub fn tag_batches(planned: &[PlannedTags]) -> Vec<TagBatch> {
    let by_set = split(group(planned.iter().map(|p| (p.add.clone(), p))));
    let by_tag =
        split(group(planned.iter().flat_map(|p| {
            p.add.iter().map(move |t| (vec![t.clone()], p))
        })));
    if by_tag.len() < by_set.len() {
        by_tag
    } else {
        by_set
    }
}

fn group<'a>(
    pairs: impl Iterator<Item = (Vec<String>, &'a PlannedTags)>,
) -> BTreeMap<Vec<String>, Vec<&'a PlannedTags>> {
    let mut groups: BTreeMap<Vec<String>, Vec<&PlannedTags>> = BTreeMap::new();
    for (tags, p) in pairs {
        groups.entry(tags).or_default().push(p);
    }
    groups
}

/// Splits each group into requests within PostHog's limits.
fn split(groups: BTreeMap<Vec<String>, Vec<&PlannedTags>>) -> Vec<TagBatch> {
    let mut out = Vec::new();
    for (tags, flags) in groups {
        for tags in tags.chunks(MAX_TAGS) {
            let per_request = (MAX_PAIRS / tags.len().max(1)).clamp(1, MAX_IDS);
            for chunk in flags.chunks(per_request) {
                out.push(TagBatch {
                    ids: chunk.iter().map(|p| p.id).collect(),
                    keys: chunk.iter().map(|p| p.key.clone()).collect(),
                    tags: tags.to_vec(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(id: i64, add: &[&str]) -> PlannedTags {
        PlannedTags {
            id,
            key: format!("k{id}"),
            add: add.iter().map(|t| t.to_string()).collect(),
            line: 1,
        }
    }

    #[test]
    fn flags_lacking_the_same_tags_share_a_request() {
        let p: Vec<PlannedTags> = (0..1_200)
            .map(|i| planned(i, &["studio", "owner:@ana"]))
            .collect();
        let batches = tag_batches(&p);
        assert_eq!(batches.len(), 3, "500 ids per request");
        assert_eq!(batches.iter().map(|b| b.ids.len()).sum::<usize>(), 1_200);
        assert!(batches.iter().all(|b| b.tags == ["studio", "owner:@ana"]));
    }

    #[test]
    fn per_tag_grouping_wins_when_sets_all_differ() {
        // 40 flags lack `studio` plus one of 28 expiry tags: 28 distinct sets, against 1 + 28
        // requests by tag.
        let p: Vec<PlannedTags> = (0..40)
            .map(|i| {
                planned(
                    i,
                    &["studio", &format!("expires:2027-01-{:02}", i % 28 + 1)],
                )
            })
            .collect();
        assert_eq!(tag_batches(&p).len(), 28);
        // Two tags, every pair of them different sets: per tag is 2 requests.
        let p = vec![
            planned(1, &["a"]),
            planned(2, &["a", "b"]),
            planned(3, &["b"]),
        ];
        let batches = tag_batches(&p);
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].ids, [1, 2]);
        assert_eq!(batches[1].ids, [2, 3]);
    }

    #[test]
    fn requests_stay_within_posthogs_limits() {
        let tags: Vec<String> = (0..150).map(|i| format!("t{i}")).collect();
        let tag_refs: Vec<&str> = tags.iter().map(String::as_str).collect();
        let p: Vec<PlannedTags> = (0..300).map(|i| planned(i, &tag_refs)).collect();
        for b in tag_batches(&p) {
            assert!(b.ids.len() <= MAX_IDS && b.tags.len() <= MAX_TAGS);
            assert!(b.ids.len() * b.tags.len() <= MAX_PAIRS);
        }
    }
}
