//! Configuration from the environment and the builder.

use std::collections::HashMap;

use flags_runtime::client::{Client, Config, Error, ListFlags};
use futures_util::TryStreamExt;

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

fn config_error(result: Result<Config, Error>) -> &'static str {
    match result {
        Err(Error::Config { variable, .. }) => variable,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn reads_every_variable_and_derives_the_public_host() {
    let cfg = Config::builder_from_lookup(env(&[
        ("POSTHOG_PROJECT_ID", "42"),
        ("POSTHOG_PERSONAL_API_KEY", "phx_abc"),
        ("POSTHOG_PROJECT_API_KEY", "phc_abc"),
    ]))
    .unwrap()
    .build()
    .unwrap();
    assert_eq!(cfg.host().as_str(), "https://us.posthog.com/");
    assert_eq!(cfg.public_host().as_str(), "https://us.i.posthog.com/");
    assert_eq!(cfg.project_id(), Some(42));

    let eu = Config::builder_from_lookup(env(&[("POSTHOG_HOST", "https://eu.posthog.com")]))
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(eu.public_host().as_str(), "https://eu.i.posthog.com/");
    let app = Config::builder()
        .host("https://app.posthog.com/")
        .build()
        .unwrap();
    assert_eq!(app.public_host().as_str(), "https://us.i.posthog.com/");
    let own = Config::builder()
        .host("https://ph.example.com")
        .build()
        .unwrap();
    assert_eq!(own.public_host().as_str(), "https://ph.example.com/");
    let set =
        Config::builder_from_lookup(env(&[("POSTHOG_PUBLIC_HOST", "https://edge.example.com")]))
            .unwrap()
            .build()
            .unwrap();
    assert_eq!(set.public_host().as_str(), "https://edge.example.com/");
}

#[test]
fn malformed_settings_name_their_variable() {
    let bad_id =
        Config::builder_from_lookup(env(&[("POSTHOG_PROJECT_ID", "abc")])).map(|b| b.build());
    assert!(matches!(
        bad_id,
        Err(Error::Config {
            variable: "POSTHOG_PROJECT_ID",
            ..
        })
    ));
    let zero = Config::builder_from_lookup(env(&[("POSTHOG_PROJECT_ID", "0")]));
    assert!(matches!(
        zero,
        Err(Error::Config {
            variable: "POSTHOG_PROJECT_ID",
            ..
        })
    ));
    assert_eq!(
        config_error(
            Config::builder_from_lookup(env(&[("POSTHOG_HOST", "us.posthog.com")]))
                .unwrap()
                .build()
        ),
        "POSTHOG_HOST"
    );
    assert_eq!(
        config_error(
            Config::builder_from_lookup(env(&[("POSTHOG_HOST", "https://x.com/api")]))
                .unwrap()
                .build()
        ),
        "POSTHOG_HOST"
    );
    assert_eq!(
        config_error(
            Config::builder_from_lookup(env(&[("POSTHOG_PROJECT_API_KEY", "phx_wrong_kind")]))
                .unwrap()
                .build()
        ),
        "POSTHOG_PROJECT_API_KEY"
    );
    assert_eq!(
        config_error(
            Config::builder_from_lookup(env(&[("POSTHOG_PERSONAL_API_KEY", "phx with space")]))
                .unwrap()
                .build()
        ),
        "POSTHOG_PERSONAL_API_KEY"
    );
    let msg = Config::builder_from_lookup(env(&[("POSTHOG_PROJECT_ID", "abc")]))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("POSTHOG_PROJECT_ID"), "{msg}");
}

#[tokio::test]
async fn a_missing_key_is_reported_when_a_call_needs_it() {
    let client = Client::new(
        Config::builder()
            .host("http://127.0.0.1:9")
            .project_id(1)
            .build()
            .unwrap(),
    )
    .unwrap();
    let err = client
        .list_flags(&ListFlags::default())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Config {
                variable: "POSTHOG_PERSONAL_API_KEY",
                ..
            }
        ),
        "{err:?}"
    );
    let no_project =
        Client::new(Config::builder().personal_api_key("phx_x").build().unwrap()).unwrap();
    let err = no_project.get_flag(1).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Config {
                variable: "POSTHOG_PROJECT_ID",
                ..
            }
        ),
        "{err:?}"
    );
    let err = no_project.capture_batch(&[]).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Config {
                variable: "POSTHOG_PROJECT_API_KEY",
                ..
            }
        ),
        "{err:?}"
    );
}
