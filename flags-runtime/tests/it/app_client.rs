//! FlagsClient without a network: overrides, offline defaults, and local rules given in code.

use flags_runtime::app::{EvalError, EvalReason, FlagsClient, Source};
use flags_runtime::eval::{EvalContext, InconclusiveReason, Properties, Snapshot};
use serde::Deserialize;
use serde_json::{Value, json};

use super::app_registry::{
    ExperimentAiSummaryModel, ExperimentAiSummaryModelVariant as Model, OpsBillingPauseInvoices,
    ReleaseStudioDarkMode, ReleaseStudioNewEditor,
};

#[derive(Debug, Deserialize, PartialEq)]
struct ModelConfig {
    model: String,
    max_tokens: u32,
}

fn person(plan: Option<&str>) -> Properties {
    let mut p = Properties::new();
    if let Some(plan) = plan {
        p.insert("plan", plan);
    }
    p
}

/// PostHog's rules for the test registry: the editor for `plan = pro`, dark mode inactive,
/// the experiment forced to `gpt_4o` with a payload of PostHog's own; the kill switch absent.
pub fn rules() -> Value {
    json!({"flags": [
        {"key": "release_studio_new_editor", "active": true, "filters": {"groups": [
            {"properties": [{"key": "plan", "value": ["pro"], "operator": "exact", "type": "person"}], "rollout_percentage": 100}]}},
        {"key": "release_studio_dark_mode", "active": false, "filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}},
        {"key": "experiment_ai_summary_model", "active": true, "filters": {
            "groups": [{"properties": [], "rollout_percentage": 100, "variant": "gpt_4o"}],
            "multivariate": {"variants": [
                {"key": "control", "rollout_percentage": 50},
                {"key": "claude_sonnet", "rollout_percentage": 25},
                {"key": "gpt_4o", "rollout_percentage": 25}]},
            "payloads": {"gpt_4o": "{\"model\": \"gpt-4o-2026\", \"max_tokens\": 2048}"}}}
    ]})
}

#[test]
fn for_tests_forces_any_flag_in_one_line() {
    let flags = FlagsClient::for_tests()
        .with::<ReleaseStudioNewEditor>(true)
        .with_variant::<ExperimentAiSummaryModel>(Model::Gpt4o);
    let props = person(None);
    let user = EvalContext::new("u1", &props);
    assert!(flags.is_enabled::<ReleaseStudioNewEditor>(&user));
    assert_eq!(
        flags.variant::<ExperimentAiSummaryModel>(&user),
        Model::Gpt4o
    );
    let e = flags.evaluate::<ExperimentAiSummaryModel>(&user);
    assert_eq!(
        (e.reason, e.source),
        (EvalReason::Override, Source::Override)
    );
    // The payload of the forced variant comes from the yaml.
    assert_eq!(
        flags.payload::<ExperimentAiSummaryModel, ModelConfig>(&user),
        Some(ModelConfig {
            model: "gpt-4o".into(),
            max_tokens: 1024
        })
    );
    // A variant without a yaml payload has none.
    flags.set_override::<ExperimentAiSummaryModel>(Model::ClaudeSonnet);
    assert_eq!(flags.payload_value::<ExperimentAiSummaryModel>(&user), None);
    // Flags not forced get their yaml default, offline.
    let e = flags.evaluate::<ReleaseStudioDarkMode>(&user);
    assert_eq!(
        (e.value, e.reason, e.source),
        (true, EvalReason::Offline, Source::Default)
    );
    assert!(e.is_default());
    flags.remove_override::<ReleaseStudioNewEditor>();
    assert!(!flags.is_enabled::<ReleaseStudioNewEditor>(&user));
    flags.clear_overrides();
    assert_eq!(
        flags.variant::<ExperimentAiSummaryModel>(&user),
        Model::Control
    );
}

#[test]
fn an_override_can_carry_its_own_payload() {
    let flags = FlagsClient::for_tests().with_payload::<ExperimentAiSummaryModel>(
        Model::Control,
        json!({"model": "tiny", "max_tokens": 8}),
    );
    let props = person(None);
    let user = EvalContext::new("u1", &props);
    assert_eq!(
        flags.payload::<ExperimentAiSummaryModel, ModelConfig>(&user),
        Some(ModelConfig {
            model: "tiny".into(),
            max_tokens: 8
        })
    );
    // A payload that does not decode into the type falls back to the yaml's for that value.
    let flags = FlagsClient::for_tests()
        .with_payload::<ExperimentAiSummaryModel>(Model::Control, json!("not an object"));
    assert_eq!(
        flags.payload::<ExperimentAiSummaryModel, ModelConfig>(&user),
        Some(ModelConfig {
            model: "legacy".into(),
            max_tokens: 512
        })
    );
}

#[test]
fn offline_serves_defaults_and_their_yaml_payloads() {
    let flags = FlagsClient::offline();
    let props = person(Some("pro"));
    let user = EvalContext::new("u1", &props);
    assert!(!flags.is_enabled::<ReleaseStudioNewEditor>(&user));
    assert!(flags.is_enabled::<ReleaseStudioDarkMode>(&user));
    assert_eq!(
        flags.variant::<ExperimentAiSummaryModel>(&user),
        Model::Control
    );
    assert_eq!(
        flags.payload_value::<ReleaseStudioDarkMode>(&user),
        Some(json!({"theme": "dark"}))
    );
    assert_eq!(
        flags.payload::<ExperimentAiSummaryModel, ModelConfig>(&user),
        Some(ModelConfig {
            model: "legacy".into(),
            max_tokens: 512
        })
    );
    assert_eq!(flags.rules_status().source, None);
    // Nothing to capture offline: the event is refused, not queued.
    assert!(!flags.capture(Default::default()));
}

#[test]
fn local_rules_decide_and_every_failure_is_the_yaml_default() {
    let flags = FlagsClient::offline().with_rules(Snapshot::from_value(&rules()).unwrap());
    let pro = person(Some("pro"));
    let free = person(Some("free"));
    let unknown = person(None);

    let e = flags.evaluate::<ReleaseStudioNewEditor>(&EvalContext::new("u1", &pro));
    assert_eq!(
        (e.value, e.reason, e.source),
        (true, EvalReason::ConditionMatch { index: 0 }, Source::Local)
    );
    let e = flags.evaluate::<ReleaseStudioNewEditor>(&EvalContext::new("u1", &free));
    assert_eq!(
        (e.value, e.reason, e.source),
        (false, EvalReason::NoConditionMatch, Source::Local)
    );
    // A property the condition needs is missing: inconclusive locally, the yaml default.
    let e = flags.evaluate::<ReleaseStudioNewEditor>(&EvalContext::new("u1", &unknown));
    assert_eq!(
        (e.value, e.reason, e.source),
        (
            false,
            EvalReason::Inconclusive(InconclusiveReason::MissingContext),
            Source::Default
        )
    );
    // Inactive in PostHog: PostHog's `false`, not the yaml's `true`.
    let e = flags.evaluate::<ReleaseStudioDarkMode>(&EvalContext::new("u1", &pro));
    assert_eq!(
        (e.value, e.reason, e.source),
        (false, EvalReason::Disabled, Source::Local)
    );
    // Not in PostHog at all: the yaml default.
    let e = flags.evaluate::<OpsBillingPauseInvoices>(&EvalContext::new("u1", &pro));
    assert_eq!(
        (e.value, e.reason, e.source),
        (false, EvalReason::NotInPostHog, Source::Default)
    );

    let user = EvalContext::new("u1", &pro);
    assert_eq!(
        flags.variant::<ExperimentAiSummaryModel>(&user),
        Model::Gpt4o
    );
    // PostHog's payload wins over the yaml's.
    assert_eq!(
        flags.payload::<ExperimentAiSummaryModel, ModelConfig>(&user),
        Some(ModelConfig {
            model: "gpt-4o-2026".into(),
            max_tokens: 2048
        })
    );
    // Overrides win over the rules.
    flags.set_override::<ReleaseStudioDarkMode>(true);
    assert!(flags.is_enabled::<ReleaseStudioDarkMode>(&user));
    assert_eq!(flags.rules_status().flags, 3);
}

#[test]
fn values_that_do_not_fit_the_yaml_fall_back() {
    let rules = json!({"flags": [
        {"key": "experiment_ai_summary_model", "active": true, "filters": {
            "groups": [{"properties": [], "rollout_percentage": 100, "variant": "gpt_5"}],
            "multivariate": {"variants": [{"key": "gpt_5", "rollout_percentage": 100}]}}},
        // A boolean flag in PostHog that the yaml declares multivariate… and the reverse.
        {"key": "release_studio_new_editor", "active": true, "filters": {
            "groups": [{"properties": [], "rollout_percentage": 100}],
            "multivariate": {"variants": [{"key": "a", "rollout_percentage": 100}]}}},
        {"key": "release_studio_dark_mode", "active": false, "filters": {
            "groups": [{"properties": [], "rollout_percentage": 100}],
            "multivariate": {"variants": [{"key": "a", "rollout_percentage": 100}]}}}
    ]});
    let flags = FlagsClient::offline().with_rules(Snapshot::from_value(&rules).unwrap());
    let props = person(None);
    let user = EvalContext::new("u1", &props);
    let e = flags.evaluate::<ExperimentAiSummaryModel>(&user);
    assert_eq!(
        (e.value, e.reason, e.source),
        (
            Model::Control,
            EvalReason::Error(EvalError::TypeMismatch),
            Source::Default
        )
    );
    // A boolean flag reads any variant as on, as PostHog's SDKs do.
    assert!(flags.is_enabled::<ReleaseStudioNewEditor>(&user));
}

#[test]
fn a_multivariate_flag_that_is_off_gets_its_default_variant_with_posthogs_reason() {
    let mut rules = rules();
    rules["flags"][2]["active"] = json!(false);
    let flags = FlagsClient::offline().with_rules(Snapshot::from_value(&rules).unwrap());
    let props = person(None);
    let e = flags.evaluate::<ExperimentAiSummaryModel>(&EvalContext::new("u1", &props));
    assert_eq!(
        (e.value, e.reason, e.source),
        (Model::Control, EvalReason::Disabled, Source::Default)
    );
}

#[test]
fn feature_properties_list_decided_flags_and_the_active_ones() {
    let flags = FlagsClient::offline()
        .with_rules(Snapshot::from_value(&rules()).unwrap())
        .with::<OpsBillingPauseInvoices>(true);
    let pro = person(Some("pro"));
    let props = flags.feature_properties(&EvalContext::new("u1", &pro));
    assert_eq!(props["$feature/release_studio_new_editor"], json!(true));
    assert_eq!(props["$feature/release_studio_dark_mode"], json!(false));
    assert_eq!(
        props["$feature/experiment_ai_summary_model"],
        json!("gpt_4o")
    );
    assert_eq!(props["$feature/ops_billing_pause_invoices"], json!(true));
    assert_eq!(
        props["$active_feature_flags"],
        json!([
            "experiment_ai_summary_model",
            "ops_billing_pause_invoices",
            "release_studio_new_editor"
        ])
    );
    // Inconclusive flags are left out.
    let unknown = person(None);
    let props = flags.feature_properties(&EvalContext::new("u1", &unknown));
    assert!(!props.contains_key("$feature/release_studio_new_editor"));
}

#[tokio::test]
async fn without_keys_the_builder_gives_an_offline_client() {
    let flags = FlagsClient::builder()
        .client(flags_runtime::client::Config::builder())
        .build()
        .await
        .unwrap();
    let props = person(None);
    let e = flags.evaluate::<ReleaseStudioDarkMode>(&EvalContext::new("u1", &props));
    assert_eq!((e.value, e.reason), (true, EvalReason::Offline));
    flags.shutdown().await;
}

#[test]
fn settings_come_from_the_environment_and_bad_ones_name_their_variable() {
    use flags_runtime::app::{ENV_OFFLINE, ENV_POLL_INTERVAL, FlagsClientBuilder};
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    };
    assert!(
        FlagsClientBuilder::from_lookup(env(&[(ENV_POLL_INTERVAL, "2.5"), (ENV_OFFLINE, "true")]))
            .is_ok()
    );
    for (var, value) in [
        (ENV_POLL_INTERVAL, "soon"),
        (ENV_POLL_INTERVAL, "0"),
        (ENV_OFFLINE, "maybe"),
    ] {
        let pairs: &'static [(&'static str, &'static str)] = Box::leak(Box::new([(var, value)]));
        match FlagsClientBuilder::from_lookup(env(pairs)) {
            Err(flags_runtime::client::Error::Config { variable, .. }) => assert_eq!(variable, var),
            other => panic!("{var}={value}: expected a config error, got {other:?}"),
        }
    }
}
