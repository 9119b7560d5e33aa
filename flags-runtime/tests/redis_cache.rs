//! The shared definition cache against a real `redis-server` on 127.0.0.1, started by the
//! test on a free port. When the binary is missing, the first test runs
//! `scripts/ensure-redis.sh` (Debian's package), so `cargo test --workspace` on a fresh machine
//! tests it too; if that fails the tests fail, unless `FLAGS_ALLOW_SKIP_REDIS=1` says skipping
//! is allowed (never in CI).
#![allow(clippy::unwrap_used)]

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use flags_runtime::app::{
    CachedDefinitions, DefinitionCache, EvalReason, FlagsClient, RedisDefinitionCache, RulesSource,
};
use flags_runtime::client::{Client, Config, FlagPatch, Limits, RetryPolicy};
use flags_runtime::emulator::Emulator;
use flags_runtime::eval::{EvalContext, Properties};
use serde_json::json;

mod registry {
    flags_macros::include_flags!(
        source = r#"
naming: { areas: [studio] }
flags:
  release_studio_new_editor: { description: The new editor., owner: "@ana", default: false }
"#
    );
}
use registry::ReleaseStudioNewEditor;

/// A `redis-server` of our own, stopped (by its process id) when dropped.
struct RedisServer {
    child: Child,
    port: u16,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Installs `redis-server` with the project's own script when it is missing (once per run).
fn ensure_installed(bin: &str) {
    static ONCE: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| {
        let present = Command::new(bin)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        if present || std::env::var("FLAGS_ALLOW_SKIP_REDIS").as_deref() == Ok("1") {
            return;
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/ensure-redis.sh");
        eprintln!("`{bin}` not found: running {script}");
        match Command::new("bash").arg(script).status() {
            Ok(status) if status.success() => {}
            Ok(status) => eprintln!("{script} failed ({status})"),
            Err(e) => eprintln!("cannot run {script}: {e}"),
        }
    });
}

impl RedisServer {
    /// Starts a server, or `None` when the binary is absent and skipping is allowed.
    fn start() -> Option<RedisServer> {
        let bin = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        ensure_installed(&bin);
        for _ in 0..5 {
            let port = free_port();
            let spawned = Command::new(&bin)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            let child = match spawned {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if std::env::var("FLAGS_ALLOW_SKIP_REDIS").as_deref() == Ok("1") {
                        eprintln!(
                            "SKIPPED: `{bin}` not found and FLAGS_ALLOW_SKIP_REDIS=1; the shared \
                             definition cache was NOT tested (run scripts/ensure-redis.sh)"
                        );
                        return None;
                    }
                    panic!(
                        "`{bin}` not found: run scripts/ensure-redis.sh (Debian package \
                         redis-server), or set FLAGS_ALLOW_SKIP_REDIS=1 to skip these tests locally"
                    );
                }
                Err(e) => panic!("cannot start {bin}: {e}"),
            };
            let mut server = RedisServer { child, port };
            for _ in 0..500 {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Some(server);
                }
                if server.child.try_wait().unwrap().is_some() {
                    break; // the port was taken meanwhile: try another
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        panic!("redis-server did not start");
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn cache(&self, namespace: &str) -> RedisDefinitionCache {
        RedisDefinitionCache::new(&self.url(), namespace).unwrap()
    }
}

#[tokio::test]
async fn exactly_one_process_polls_and_keeps_the_job() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let fleet: Vec<_> = (0..5).map(|_| redis.cache("app-prod")).collect();
    let mut leaders = Vec::new();
    for (i, c) in fleet.iter().enumerate() {
        if c.should_fetch().await.unwrap() {
            leaders.push(i);
        }
    }
    assert_eq!(leaders.len(), 1, "{leaders:?}");
    let leader = leaders[0];
    for _ in 0..4 {
        for (i, c) in fleet.iter().enumerate() {
            assert_eq!(c.should_fetch().await.unwrap(), i == leader);
        }
    }
    // Another namespace (another project) has its own leader.
    assert!(redis.cache("other-project").should_fetch().await.unwrap());
}

#[tokio::test]
async fn the_others_read_what_the_poller_stored() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (leader, follower) = (redis.cache("ns"), redis.cache("ns"));
    assert_eq!(follower.load().await.unwrap(), None);
    assert!(leader.should_fetch().await.unwrap());
    let defs = CachedDefinitions {
        json: json!({"flags": [], "group_type_mapping": {}, "cohorts": {}}).to_string(),
        fetched_at_ms: 42,
    };
    leader.store(&defs).await.unwrap();
    assert!(!follower.should_fetch().await.unwrap());
    assert_eq!(follower.load().await.unwrap(), Some(defs));
}

#[tokio::test]
async fn release_hands_over_and_never_takes_another_process_lease() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (a, b, c) = (redis.cache("ns"), redis.cache("ns"), redis.cache("ns"));
    assert!(a.should_fetch().await.unwrap());
    // A process that does not hold the lease releases nothing.
    b.release().await.unwrap();
    assert!(!b.should_fetch().await.unwrap());
    a.release().await.unwrap();
    assert!(b.should_fetch().await.unwrap());
    assert!(!c.should_fetch().await.unwrap());
    assert!(!a.should_fetch().await.unwrap());
}

#[tokio::test]
async fn a_dead_pollers_lease_runs_out_and_another_takes_over() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let lease = Duration::from_millis(100);
    let dead = redis.cache("ns").lease(lease);
    let standby = redis.cache("ns").lease(lease);
    assert!(dead.should_fetch().await.unwrap());
    assert!(!standby.should_fetch().await.unwrap());
    // `dead` never renews: the standby gets the job once the lease runs out.
    let mut took_over = false;
    for _ in 0..500 {
        if standby.should_fetch().await.unwrap() {
            took_over = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(took_over);
    assert!(!dead.should_fetch().await.unwrap());
}

#[tokio::test]
async fn a_stopped_server_is_an_error_and_a_restarted_one_works_again() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let cache = redis.cache("ns");
    assert!(cache.should_fetch().await.unwrap());
    let port = redis.port;
    redis.child.kill().unwrap();
    redis.child.wait().unwrap();
    assert!(cache.should_fetch().await.is_err());
    assert!(cache.load().await.is_err());
    // Same port, new server: the cache reconnects by itself.
    let child =
        Command::new(std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into()))
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
    redis.child = child;
    let mut back = false;
    for _ in 0..500 {
        if cache.should_fetch().await.is_ok_and(|b| b) {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(back);
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 2,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_rate_limit_wait: Duration::from_secs(1),
        jitter: false,
        jitter_seed: None,
    }
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never happened: {what}");
}

#[tokio::test]
async fn a_fleet_polls_posthog_once_and_shares_the_rules() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let emu = Emulator::start().await.unwrap();
    emu.seed(
        &json!({"flags": [{"key": "release_studio_new_editor", "active": true,
        "filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}}]}),
    )
    .unwrap();
    let poll = Duration::from_millis(20);
    let poller = FlagsClient::builder()
        .client(
            emu.client_config()
                .retry(fast())
                .limits(Limits::unlimited()),
        )
        .poll_interval(poll)
        .definition_cache(Arc::new(redis.cache("fleet")))
        .build()
        .await
        .unwrap();
    assert_eq!(poller.rules_status().source, Some(RulesSource::PostHog));

    // A second process whose PostHog is unreachable: it can only have the rules from Redis.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", l.local_addr().unwrap().port())
    };
    let reader = FlagsClient::builder()
        .client(
            Config::builder()
                .host(dead)
                .personal_api_key("phx_x")
                .retry(fast()),
        )
        .poll_interval(poll)
        .definition_cache(Arc::new(redis.cache("fleet")))
        .build()
        .await
        .unwrap();
    assert_eq!(reader.rules_status().source, Some(RulesSource::SharedCache));
    let props = Properties::new();
    let user = EvalContext::new("u1", &props);
    assert!(reader.is_enabled::<ReleaseStudioNewEditor>(&user));
    assert_eq!(
        reader.stats().poll_errors,
        0,
        "the reader never polled PostHog"
    );

    // A change reaches the reader through the poller and Redis.
    let admin = Client::new(emu.client_config().retry(fast()).build().unwrap()).unwrap();
    let id = admin
        .find_flag("release_studio_new_editor")
        .await
        .unwrap()
        .unwrap()
        .id;
    admin
        .update_flag(
            id,
            &FlagPatch {
                active: Some(false),
                ..FlagPatch::default()
            },
        )
        .await
        .unwrap();
    eventually("the reader serves the change", || {
        reader.evaluate::<ReleaseStudioNewEditor>(&user).reason == EvalReason::Disabled
    })
    .await;

    // The poller leaves: the reader takes the job over at once, fails to reach PostHog, and
    // keeps serving the rules it has.
    poller.shutdown().await;
    eventually("the reader polls", || reader.stats().poll_errors > 0).await;
    assert_eq!(
        reader.evaluate::<ReleaseStudioNewEditor>(&user).reason,
        EvalReason::Disabled
    );
    reader.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_cache_never_stops_the_client() {
    // No server at all (and no need for the binary): the client polls PostHog itself.
    let emu = Emulator::start().await.unwrap();
    emu.seed(
        &json!({"flags": [{"key": "release_studio_new_editor", "active": true,
        "filters": {"groups": [{"properties": [], "rollout_percentage": 100}]}}]}),
    )
    .unwrap();
    let url = format!("redis://127.0.0.1:{}/", free_port());
    let flags = FlagsClient::builder()
        .client(
            emu.client_config()
                .retry(fast())
                .limits(Limits::unlimited()),
        )
        .definition_cache(Arc::new(
            RedisDefinitionCache::new(&url, "ns")
                .unwrap()
                .timeout(Duration::from_millis(200)),
        ))
        .build()
        .await
        .unwrap();
    assert_eq!(flags.rules_status().source, Some(RulesSource::PostHog));
    let props = Properties::new();
    assert!(flags.is_enabled::<ReleaseStudioNewEditor>(&EvalContext::new("u1", &props)));
    flags.shutdown().await;
}
