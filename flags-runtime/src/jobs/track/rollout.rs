//! "Released": PostHog's own `effectively_full_rollout`, read from a flag's `filters`.
//!
//! PostHog (`products/feature_flags/backend/flag_status.py`, `is_flag_fully_rolled_out`) calls a
//! flag fully rolled out when:
//! - boolean: one release condition has `rollout_percentage == 100` and no property filters;
//! - multivariate (a non-empty `multivariate.variants`): such a condition exists, and either a
//!   variant has `rollout_percentage == 100` or such a condition carries a variant override.
//!
//! The percentage must be an explicit 100: PostHog's code says a missing percentage is
//! deliberately not counted here (although evaluation serves it to everyone).
//!
//! Two narrowings, so a notice never tells an owner to keep a code path nobody gets:
//! - a disabled flag is not released (it serves `false` to everyone; PostHog's status and its
//!   `STALE` filter also skip inactive flags);
//! - a flag with no release conditions is not released. PostHog's status counts it as fully
//!   rolled out ("not a supported state, but legacy data"), but evaluation matches no condition
//!   and serves `false`.
//!
//! So what we call released is always a subset of what PostHog calls `effectively_full_rollout`.

use serde_json::Value;

/// A condition rolled out to everyone: an explicit 100% and no property filters.
fn condition_serves_everyone(group: &Value) -> bool {
    let full = group["rollout_percentage"].as_f64() == Some(100.0);
    let unfiltered = group["properties"].as_array().is_none_or(Vec::is_empty);
    full && unfiltered
}

/// The variant override of a condition (`variant`), when it names one.
fn variant_override(group: &Value) -> Option<&str> {
    group["variant"].as_str().filter(|v| !v.is_empty())
}

/// PostHog's `effectively_full_rollout` for these `filters` (see the module docs), including
/// PostHog's "no conditions is fully rolled out".
pub fn effectively_full_rollout(filters: &Value) -> bool {
    let groups = filters["groups"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let variants = filters["multivariate"]["variants"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if variants.is_empty() {
        return groups.is_empty() || groups.iter().any(condition_serves_everyone);
    }
    let full: Vec<&Value> = groups
        .iter()
        .filter(|g| condition_serves_everyone(g))
        .collect();
    let one_variant_at_100 = variants
        .iter()
        .any(|v| v["rollout_percentage"].as_f64() == Some(100.0));
    !full.is_empty() && (one_variant_at_100 || full.iter().any(|g| variant_override(g).is_some()))
}

/// Whether a flag counts as released: enabled, with at least one release condition, and
/// [`effectively_full_rollout`].
pub fn is_released(active: bool, filters: &Value) -> bool {
    let has_conditions = filters["groups"].as_array().is_some_and(|g| !g.is_empty());
    active && has_conditions && effectively_full_rollout(filters)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cond(rollout: Value, properties: Value) -> Value {
        json!({ "properties": properties, "rollout_percentage": rollout })
    }

    #[test]
    fn boolean_flags_need_one_unfiltered_condition_at_100() {
        let email = json!([{ "key": "email", "type": "person", "operator": "icontains", "value": "@acme.io" }]);
        let f = json!({ "groups": [cond(json!(50), json!([])), cond(json!(100), json!([]))] });
        assert!(is_released(true, &f));
        // 100% of a filtered audience is not everyone.
        let f = json!({ "groups": [cond(json!(100), email)] });
        assert!(!is_released(true, &f));
        // PostHog requires an explicit 100.
        let f = json!({ "groups": [{ "properties": [] }] });
        assert!(!is_released(true, &f));
        let f = json!({ "groups": [cond(json!(100.0), json!(null))] });
        assert!(is_released(true, &f));
    }

    #[test]
    fn multivariate_flags_need_one_variant_for_everyone() {
        let split = json!({ "groups": [cond(json!(100), json!([]))],
            "multivariate": { "variants": [{ "key": "control", "rollout_percentage": 50 }, { "key": "test", "rollout_percentage": 50 }] } });
        assert!(
            !is_released(true, &split),
            "a 50/50 experiment at 100% is not released"
        );
        let winner = json!({ "groups": [cond(json!(100), json!([]))],
            "multivariate": { "variants": [{ "key": "control", "rollout_percentage": 0 }, { "key": "test", "rollout_percentage": 100 }] } });
        assert!(is_released(true, &winner));
        let overridden = json!({ "groups": [{ "properties": [], "rollout_percentage": 100, "variant": "test" }],
            "multivariate": { "variants": [{ "key": "control", "rollout_percentage": 50 }, { "key": "test", "rollout_percentage": 50 }] } });
        assert!(is_released(true, &overridden));
        let partial = json!({ "groups": [cond(json!(90), json!([]))],
            "multivariate": { "variants": [{ "key": "test", "rollout_percentage": 100 }] } });
        assert!(!is_released(true, &partial));
    }

    #[test]
    fn disabled_flags_and_flags_without_conditions_are_not_released() {
        let f = json!({ "groups": [cond(json!(100), json!([]))] });
        assert!(!is_released(false, &f));
        // PostHog's status calls this fully rolled out; evaluation serves it to nobody.
        assert!(effectively_full_rollout(&json!({ "groups": [] })));
        assert!(!is_released(true, &json!({ "groups": [] })));
    }
}
