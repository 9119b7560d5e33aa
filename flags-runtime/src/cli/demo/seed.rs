//! The project `flagsync demo` seeds into the emulator: a cast of the registry's flags, each
//! given one part in the story (by rules on the registry, so the demo works on any registry with
//! enough flags), the PostHog state that plays it, and the traffic the guard judges.

use serde_json::{Map, Value, json};

use crate::client::CaptureEvent;
use crate::jobs::guard::time::format_ms;
use crate::jobs::inventory::desired_tags;
use crate::jobs::track::detect;
use crate::jobs::track::marks::{RELEASED_TAG, released_at_tag};
use crate::registry::{Date, FlagDefinition, FlagKind, Registry};

const MINUTE: i64 = 60_000;
const DAY: i64 = 1_440 * MINUTE;

/// Persons per 100 percentage points of a split in the guard's traffic (400 at 50%).
const PERSONS_PER_PERCENT: usize = 8;

/// The key of a PostHog flag with no place in any registry: its key is not lower snake case.
pub(super) const MISNAMED_KEY: &str = "checkout-v2-beta";

/// The part each registry flag plays. Each flag plays at most one part; flags are taken in
/// registry order.
#[derive(Debug, Default)]
pub(super) struct Cast {
    /// Guarded with `enforce`, boolean: rolled out to 50% and captured with more exceptions when
    /// on, so the guard disables it.
    pub(super) regressing: Option<&'static FlagDefinition>,
    /// The first `experiment` flag (else the first multivariate one): its experiment has ended.
    /// Healthy traffic when it is guarded.
    pub(super) experiment: Option<&'static FlagDefinition>,
    /// A flag that goes stale (a release or experiment flag with a lifetime in days), released
    /// (100%) longer ago than that and marked released by an earlier track run.
    pub(super) stale: Option<(&'static FlagDefinition, u32)>,
    /// A release flag just rolled out to 100% with no description in PostHog.
    pub(super) released: Option<&'static FlagDefinition>,
    /// The last flag left: its key is held by an archived PostHog flag.
    pub(super) archived_key: Option<&'static FlagDefinition>,
    /// The other flags: not in PostHog yet, so sync creates them.
    pub(super) creates: Vec<&'static FlagDefinition>,
    /// Flags archived in the yaml: archived in PostHog too.
    pub(super) archived: Vec<&'static FlagDefinition>,
    /// A PostHog flag the registry does not have (an earlier attempt at a registry flag).
    pub(super) orphan: String,
}

impl Cast {
    /// Casts `registry`'s flags.
    pub(super) fn of(registry: &'static Registry) -> Cast {
        let mut free: Vec<&'static FlagDefinition> =
            registry.flags.iter().filter(|f| !f.archived).collect();
        let mut take = |pick: &dyn Fn(&FlagDefinition) -> bool| {
            let i = free.iter().position(|f| pick(f))?;
            Some(free.remove(i))
        };
        let regressing = take(&|f| {
            f.kind == FlagKind::Boolean && f.guardian.is_some_and(|g| g.enabled && g.enforce)
        });
        let experiment = take(&|f| f.lifecycle == Some("experiment"))
            .or_else(|| take(&|f| f.kind == FlagKind::Multivariate));
        let stale = take(&|f| stale_after(registry, f).is_some())
            .and_then(|f| Some((f, stale_after(registry, f)?)));
        let released = take(&|f| f.lifecycle == Some("release") && f.guardian.is_none());
        let archived_key = free.pop();
        let orphan = format!(
            "{}_v1",
            regressing
                .or(released)
                .or(registry.flags.first())
                .map_or("release_demo", |f| f.key)
        );
        Cast {
            regressing,
            experiment,
            stale,
            released,
            archived_key,
            creates: free,
            archived: registry.flags.iter().filter(|f| f.archived).collect(),
            orphan,
        }
    }
}

/// Days after its release `def` goes stale, if it ever does (track's rule).
fn stale_after(registry: &Registry, def: &FlagDefinition) -> Option<u32> {
    detect::stale_after(registry, def.lifecycle)
}

/// The day the demo's story is set: the day after the registry's first expiry (so check and
/// track have an expired flag to show, whatever the date), or today when no flag expires.
pub(super) fn story_day(registry: &Registry) -> (Date, Option<&'static FlagDefinition>) {
    let first = registry
        .flags
        .iter()
        .filter(|f| !f.archived)
        .filter_map(|f| Some((f.expires?, f)))
        .min_by_key(|(d, _)| *d);
    match first {
        Some((d, f)) => (d.add_days(1), Some(f)),
        None => (Date::today_utc(), None),
    }
}

/// Days before the story's day the stale flag was released: well past its lifetime.
pub(super) fn stale_released_days_ago(lifetime: u32) -> i64 {
    i64::from(lifetime) + 20
}

/// Days before the story's day the experiment ended.
pub(super) const EXPERIMENT_ENDED_DAYS_AGO: i64 = 3;

fn noon(day: Date) -> String {
    format!("{day}T12:00:00Z")
}

fn boolean(percent: u32) -> Value {
    json!({ "groups": [{ "properties": [], "rollout_percentage": percent }] })
}

/// The flag's split in PostHog: a boolean flag at `percent`, a multivariate one at 100% with the
/// yaml's variants (and, when `full`, every person on the first variant).
fn filters(def: &FlagDefinition, percent: u32, full: bool) -> Value {
    if def.kind == FlagKind::Boolean {
        return boolean(percent);
    }
    let variants: Vec<Value> = def
        .variants
        .iter()
        .map(|v| json!({ "key": v.key, "rollout_percentage": v.rollout_percentage }))
        .collect();
    let mut group = json!({ "properties": [], "rollout_percentage": 100 });
    if full && let Some(first) = def.variants.first() {
        group["variant"] = json!(first.key);
    }
    json!({ "groups": [group], "multivariate": { "variants": variants } })
}

fn flag(key: &str, name: &str, filters: Value, active: bool, tags: Vec<String>) -> Value {
    json!({ "key": key, "name": name, "filters": filters, "active": active, "tags": tags })
}

fn dated(mut flag: Value, created_ms: i64, updated_ms: i64) -> Value {
    flag["created_at"] = json!(format_ms(created_ms));
    flag["updated_at"] = json!(format_ms(updated_ms));
    flag
}

fn in_line_tags(def: &FlagDefinition) -> Vec<String> {
    desired_tags(def).into_iter().collect()
}

fn yaml_tags(def: &FlagDefinition) -> Vec<String> {
    def.tags.iter().map(|t| (*t).to_owned()).collect()
}

/// The body of the emulator's seed (`{"flags":[…],"experiments":[…]}`): flags and experiment
/// dates are set relative to `today` (what track reads), edit times relative to `now_ms` (what
/// the guard's cooldown and windows read).
pub(super) fn project(cast: &Cast, today: Date, now_ms: i64) -> Value {
    let mut flags = Vec::new();
    let mut experiments = Vec::new();
    if let Some(def) = cast.regressing {
        // Created before the registry had it: only the yaml's plain tags. Edited two days ago.
        let f = flag(
            def.key,
            def.description.trim(),
            filters(def, 50, false),
            true,
            yaml_tags(def),
        );
        flags.push(dated(f, now_ms - 10 * DAY, now_ms - 2 * DAY));
    }
    if let Some(def) = cast.experiment {
        let f = flag(
            def.key,
            def.description.trim(),
            filters(def, 50, false),
            true,
            in_line_tags(def),
        );
        flags.push(dated(f, now_ms - 40 * DAY, now_ms - 3 * DAY));
        experiments.push(json!({
            "name": format!("Which variant of {} wins", def.key),
            "feature_flag_key": def.key,
            "start_date": noon(today.add_days(-EXPERIMENT_ENDED_DAYS_AGO - 30)),
            "end_date": noon(today.add_days(-EXPERIMENT_ENDED_DAYS_AGO)),
            "archived": false,
        }));
    }
    if let Some((def, lifetime)) = cast.stale {
        let released = today.add_days(-stale_released_days_ago(lifetime));
        let mut tags = in_line_tags(def);
        tags.push(RELEASED_TAG.to_owned());
        tags.push(released_at_tag(released));
        let f = flag(
            def.key,
            def.description.trim(),
            filters(def, 100, true),
            true,
            tags,
        );
        flags.push(dated(f, now_ms - 90 * DAY, now_ms - 60 * DAY));
    }
    if let Some(def) = cast.released {
        let f = flag(def.key, "", filters(def, 100, true), true, yaml_tags(def));
        flags.push(dated(f, now_ms - 30 * DAY, now_ms - DAY));
    }
    if let Some(def) = cast.archived_key {
        let mut f = flag(def.key, "An early attempt", boolean(0), false, Vec::new());
        f["archived"] = json!(true);
        flags.push(dated(f, now_ms - 400 * DAY, now_ms - 300 * DAY));
    }
    for def in &cast.archived {
        let mut f = flag(
            def.key,
            def.description.trim(),
            boolean(100),
            false,
            in_line_tags(def),
        );
        f["archived"] = json!(true);
        flags.push(dated(f, now_ms - 200 * DAY, now_ms - 100 * DAY));
    }
    let owner = cast.regressing.map(|d| format!("owner:{}", d.owner));
    flags.push(dated(
        flag(
            &cast.orphan,
            "First try, made in the PostHog UI",
            boolean(0),
            false,
            owner.into_iter().collect(),
        ),
        now_ms - 120 * DAY,
        now_ms - 100 * DAY,
    ));
    flags.push(dated(
        flag(
            MISNAMED_KEY,
            "New checkout, beta",
            boolean(30),
            true,
            vec!["owner:@growth".to_owned()],
        ),
        now_ms - 20 * DAY,
        now_ms - 5 * DAY,
    ));
    json!({ "flags": flags, "experiments": experiments })
}

/// One arm of a flag's traffic.
struct Arm {
    /// What PostHog answered: `true`/`false`, or the variant.
    response: Value,
    persons: usize,
    /// Persons who hit an `$exception`.
    with_exception: usize,
}

/// Exposures (`$feature_flag_called`), `$exception`s and each guardrail metric's events, as the
/// application would capture them over the last two hours. The regressing flag's `true` arm has
/// four times the exceptions of its control (16% of persons instead of 4%); the experiment
/// flag's arms all behave alike.
pub(super) fn traffic(cast: &Cast, now_ms: i64) -> Vec<CaptureEvent> {
    let mut out = Vec::new();
    if let Some(def) = cast.regressing {
        let arms = [
            Arm {
                response: json!(false),
                persons: 50 * PERSONS_PER_PERCENT,
                with_exception: 16,
            },
            Arm {
                response: json!(true),
                persons: 50 * PERSONS_PER_PERCENT,
                with_exception: 64,
            },
        ];
        flag_traffic(def, &arms, now_ms, &mut out);
    }
    if let Some(def) = cast.experiment.filter(|d| d.guardian.is_some()) {
        let arms: Vec<Arm> = match def.kind {
            FlagKind::Boolean => [false, true]
                .into_iter()
                .map(|r| Arm {
                    response: json!(r),
                    persons: 50 * PERSONS_PER_PERCENT,
                    with_exception: 2 * PERSONS_PER_PERCENT,
                })
                .collect(),
            FlagKind::Multivariate => def
                .variants
                .iter()
                .map(|v| {
                    let persons = v.rollout_percentage as usize * PERSONS_PER_PERCENT;
                    Arm {
                        response: json!(v.key),
                        persons,
                        with_exception: persons / 25,
                    }
                })
                .collect(),
        };
        flag_traffic(def, &arms, now_ms, &mut out);
    }
    out
}

fn event(name: &str, person: &str, at_ms: i64, properties: Value) -> CaptureEvent {
    CaptureEvent {
        event: name.to_owned(),
        distinct_id: person.to_owned(),
        properties: properties.as_object().cloned().unwrap_or_else(Map::new),
        timestamp: Some(format_ms(at_ms)),
        uuid: None,
    }
}

fn flag_traffic(def: &FlagDefinition, arms: &[Arm], now_ms: i64, out: &mut Vec<CaptureEvent>) {
    let metrics = def.guardian.map_or(&[][..], |g| g.metrics);
    for arm in arms {
        let label = match &arm.response {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        for i in 0..arm.persons {
            let person = format!("{}-{label}-{i}", def.key);
            let at = now_ms - 90 * MINUTE + i as i64 * 1_000;
            out.push(event(
                "$feature_flag_called",
                &person,
                at,
                json!({ "$feature_flag": def.key, "$feature_flag_response": arm.response }),
            ));
            if i < arm.with_exception {
                out.push(event(
                    "$exception",
                    &person,
                    at + MINUTE,
                    json!({ "$exception_type": "TypeError" }),
                ));
            }
            // Every metric behaves the same in every arm: nine persons in ten succeed.
            for m in metrics {
                let properties = match m.success_property {
                    Some(p) => json!({ p: i % 10 != 0 }),
                    None if i % 10 == 0 => continue,
                    None => json!({}),
                };
                out.push(event(m.event, &person, at + 2 * MINUTE, properties));
            }
        }
    }
}
