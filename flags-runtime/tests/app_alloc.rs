//! The typed calls allocate nothing once a (user, flag, value) exposure has been reported:
//! rules, overrides and the de-duplicated exposure path, counted per thread by
//! allocation-counter.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use flags_runtime::app::FlagsClient;
use flags_runtime::client::Limits;
use flags_runtime::emulator::Emulator;
use flags_runtime::eval::{EvalContext, Properties, Snapshot};
use serde_json::json;

mod registry {
    flags_macros::include_flags!(
        source = r#"
naming: { areas: [studio, ai] }
flags:
  release_studio_new_editor: { description: The new editor., owner: "@ana", default: false }
  experiment_ai_summary_model:
    description: Which model.
    owner: "@ml"
    variants: { control: 50, gpt_4o: 50 }
    default: control
"#
    );
}
use registry::{ExperimentAiSummaryModel, ReleaseStudioNewEditor};

fn rules() -> serde_json::Value {
    json!({"flags": [
        {"key": "release_studio_new_editor", "active": true, "filters": {"groups": [
            {"properties": [{"key": "plan", "value": ["pro"], "operator": "exact", "type": "person"}], "rollout_percentage": 50}]}},
        {"key": "experiment_ai_summary_model", "active": true, "filters": {
            "groups": [{"properties": [], "rollout_percentage": 100}],
            "multivariate": {"variants": [{"key": "control", "rollout_percentage": 50}, {"key": "gpt_4o", "rollout_percentage": 50}]}}}
    ]})
}

fn users() -> Vec<(String, Properties)> {
    (0..200)
        .map(|i| {
            let mut p = Properties::new();
            if i % 3 != 0 {
                p.insert("plan", if i % 2 == 0 { "pro" } else { "free" });
            }
            (format!("user-{i}"), p)
        })
        .collect()
}

fn run_all(flags: &FlagsClient, users: &[(String, Properties)]) -> u64 {
    let mut on = 0;
    for (id, props) in users {
        let ctx = EvalContext::new(id, props);
        on += u64::from(flags.is_enabled::<ReleaseStudioNewEditor>(&ctx));
        on += u64::from(
            flags
                .variant::<ExperimentAiSummaryModel>(&ctx)
                .as_str()
                .len()
                > 7,
        );
        std::hint::black_box(flags.evaluate::<ExperimentAiSummaryModel>(&ctx));
    }
    on
}

#[test]
fn typed_calls_on_local_rules_and_overrides_do_not_allocate() {
    let users = users();
    let flags = FlagsClient::offline().with_rules(Snapshot::from_value(&rules()).unwrap());
    run_all(&flags, &users); // warm-up (arc-swap registers the thread)
    let info = allocation_counter::measure(|| {
        std::hint::black_box(run_all(&flags, &users));
    });
    assert_eq!(info.count_total, 0, "{} allocations", info.count_total);

    let flags = flags.with::<ReleaseStudioNewEditor>(true);
    run_all(&flags, &users);
    let info = allocation_counter::measure(|| {
        std::hint::black_box(run_all(&flags, &users));
    });
    assert_eq!(
        info.count_total, 0,
        "{} allocations with an override",
        info.count_total
    );
}

#[test]
fn a_reported_exposure_costs_no_allocation_the_next_time() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let emu = Emulator::start().await.unwrap();
        emu.seed(&json!({ "flags": rules()["flags"] })).unwrap();
        let flags = FlagsClient::builder()
            .client(emu.client_config().limits(Limits::unlimited()))
            .poll_interval(Duration::from_secs(3600))
            .build()
            .await
            .unwrap();
        let users = users();
        run_all(&flags, &users); // first calls: exposures built and queued
        flags.flush().await;
        let info = allocation_counter::measure(|| {
            std::hint::black_box(run_all(&flags, &users));
        });
        assert_eq!(info.count_total, 0, "{} allocations", info.count_total);
        flags.shutdown().await;
    });
}
