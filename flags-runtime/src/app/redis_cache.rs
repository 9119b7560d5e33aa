//! [`RedisDefinitionCache`]: the shared definition cache on Redis, with a lease so one
//! process of a fleet polls PostHog (feature `redis`).
//!
//! Keys, under a namespace the application chooses (one per PostHog project and
//! environment): `<ns>:lease` holds the token of the process that polls, set with
//! `SET NX PX` and renewed by that process at each poll (a compare-and-`PEXPIRE` script), so
//! it keeps the job while it lives and another process takes over once the lease runs out
//! after it died; `<ns>:definitions` is a hash with the document (`json`) and when it was
//! fetched (`fetched_at_ms`). [`DefinitionCache::release`] deletes the lease only if it is
//! still ours (compare-and-`DEL`), so a clean shutdown hands over at once.
//!
//! One multiplexed connection, opened lazily and re-opened after a connection error; every
//! command is bounded by a timeout (default 2 s). The Redis URL (which may carry a password)
//! is never printed.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisError};

use super::cache::{CacheError, CacheFuture, CachedDefinitions, DefinitionCache};

/// Renews the lease if we hold it.
const RENEW: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
/// Deletes the lease if we hold it.
const RELEASE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

/// A [`DefinitionCache`] on Redis (see the module docs).
pub struct RedisDefinitionCache {
    client: redis::Client,
    conn: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    namespace: String,
    lease_key: String,
    data_key: String,
    token: String,
    lease: Duration,
    timeout: Duration,
}

impl std::fmt::Debug for RedisDefinitionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDefinitionCache")
            .field("namespace", &self.namespace)
            .field("lease", &self.lease)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisDefinitionCache {
    /// A cache on the Redis server at `url` (`redis://[:password@]host:port[/db]`), keys
    /// under `namespace`. Opens no connection yet; fails only on a malformed URL.
    pub fn new(url: &str, namespace: impl Into<String>) -> Result<Self, CacheError> {
        let client = redis::Client::open(url).map_err(CacheError::new)?;
        let namespace = namespace.into();
        Ok(RedisDefinitionCache {
            client,
            conn: tokio::sync::Mutex::new(None),
            lease_key: format!("{namespace}:lease"),
            data_key: format!("{namespace}:definitions"),
            namespace,
            token: crate::client::public::new_uuid(),
            lease: Duration::from_secs(60),
            timeout: Duration::from_secs(2),
        })
    }

    /// How long the polling process keeps the job without renewing it (default 60 s). Make
    /// it longer than the poll interval: the holder renews it at each poll, and after it dies
    /// the others wait at most this long before one of them takes over.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(1));
        self
    }

    /// Longest wait for a connection or a command (default 2 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    async fn connection(&self) -> Result<MultiplexedConnection, CacheError> {
        let mut slot = self.conn.lock().await;
        if let Some(c) = &*slot {
            return Ok(c.clone());
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        let c = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(CacheError::new)?;
        *slot = Some(c.clone());
        Ok(c)
    }

    /// Runs one command; a connection error drops the connection so the next call reconnects.
    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, CacheError> {
        let mut conn = self.connection().await?;
        match cmd.query_async(&mut conn).await {
            Ok(v) => Ok(v),
            Err(e) => {
                self.forget_if_broken(&e).await;
                Err(CacheError::new(e))
            }
        }
    }

    async fn forget_if_broken(&self, e: &RedisError) {
        if e.is_io_error()
            || e.is_connection_dropped()
            || e.is_unrecoverable_error()
            || e.is_timeout()
        {
            *self.conn.lock().await = None;
        }
    }

    fn lease_ms(&self) -> u64 {
        u64::try_from(self.lease.as_millis()).unwrap_or(u64::MAX)
    }
}

impl DefinitionCache for RedisDefinitionCache {
    fn should_fetch(&self) -> CacheFuture<'_, bool> {
        Box::pin(async move {
            let mut set = redis::cmd("SET");
            set.arg(&self.lease_key)
                .arg(&self.token)
                .arg("NX")
                .arg("PX")
                .arg(self.lease_ms());
            let acquired: Option<String> = self.query(&set).await?;
            if acquired.is_some() {
                return Ok(true);
            }
            let mut renew = redis::cmd("EVAL");
            renew
                .arg(RENEW)
                .arg(1)
                .arg(&self.lease_key)
                .arg(&self.token)
                .arg(self.lease_ms());
            let renewed: i64 = self.query(&renew).await?;
            Ok(renewed == 1)
        })
    }

    fn load(&self) -> CacheFuture<'_, Option<CachedDefinitions>> {
        Box::pin(async move {
            let mut get = redis::cmd("HMGET");
            get.arg(&self.data_key).arg("json").arg("fetched_at_ms");
            let (json, at): (Option<String>, Option<u64>) = self.query(&get).await?;
            Ok(json.map(|json| CachedDefinitions {
                json,
                fetched_at_ms: at.unwrap_or(0),
            }))
        })
    }

    fn store<'a>(&'a self, definitions: &'a CachedDefinitions) -> CacheFuture<'a, ()> {
        Box::pin(async move {
            let mut set = redis::cmd("HSET");
            set.arg(&self.data_key)
                .arg("json")
                .arg(&definitions.json)
                .arg("fetched_at_ms")
                .arg(definitions.fetched_at_ms);
            let _: i64 = self.query(&set).await?;
            Ok(())
        })
    }

    fn release(&self) -> CacheFuture<'_, ()> {
        Box::pin(async move {
            let mut release = redis::cmd("EVAL");
            release
                .arg(RELEASE)
                .arg(1)
                .arg(&self.lease_key)
                .arg(&self.token);
            let _: i64 = self.query(&release).await?;
            Ok(())
        })
    }
}
