//! A definition cache shared by a fleet of processes, so that one of them polls PostHog and
//! the others read what it fetched: the shape of PostHog's own
//! `FlagDefinitionCacheProvider` (posthog-python, posthog-node), with Rust names.
//!
//! Before each poll the client asks [`DefinitionCache::should_fetch`]. `true`: it fetches
//! `/flags/definitions` itself and hands the result to [`DefinitionCache::store`]. `false`:
//! it reads [`DefinitionCache::load`] and compiles what it finds when it changed (when
//! nothing is cached and the process has no rules yet, it fetches anyway, as the SDKs do).
//! [`DefinitionCache::release`] runs at [`super::FlagsClient::shutdown`]. A failing cache
//! never stops evaluation: an error from `should_fetch` or `load` makes the process fetch
//! itself, an error from `store` or `release` is logged.
//!
//! [`super::RedisDefinitionCache`] (feature `redis`) implements it with a lease.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

/// The future a [`DefinitionCache`] method returns.
pub type CacheFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, CacheError>> + Send + 'a>>;

/// A failure of the shared cache (connection, protocol, encoding).
#[derive(Debug)]
pub struct CacheError(Box<dyn std::error::Error + Send + Sync>);

impl CacheError {
    /// Wraps any error.
    pub fn new(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        CacheError(e.into())
    }
}

impl fmt::Display for CacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "definition cache: {}", self.0)
    }
}

impl std::error::Error for CacheError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// Definitions as the fleet shares them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedDefinitions {
    /// The `/flags/definitions` document as JSON text (`flags`, `group_type_mapping`,
    /// `cohorts`, …).
    pub json: String,
    /// When the fetching process received it, in ms since the epoch.
    pub fetched_at_ms: u64,
}

/// A cache of flag definitions shared by several processes (see the module docs).
pub trait DefinitionCache: Send + Sync + fmt::Debug + 'static {
    /// Whether this process should fetch from PostHog now (PostHog's
    /// `should_fetch_flag_definitions`): `true` for one process of the fleet at a time.
    fn should_fetch(&self) -> CacheFuture<'_, bool>;

    /// The cached definitions, if any (`get_flag_definitions`).
    fn load(&self) -> CacheFuture<'_, Option<CachedDefinitions>>;

    /// Stores definitions this process fetched (`on_flag_definitions_received`).
    fn store<'a>(&'a self, definitions: &'a CachedDefinitions) -> CacheFuture<'a, ()>;

    /// Gives up whatever this process holds (a lease), at shutdown (`shutdown`). Called even
    /// if this process never fetched.
    fn release(&self) -> CacheFuture<'_, ()>;
}
