//! What the commands that talk to PostHog share: which registry to use, how to reach PostHog,
//! and the async runtime they run on.

use std::path::PathBuf;

use clap::Args;

use crate::client::{Client, Config};
use crate::registry::Registry;
use crate::registry_file::load_registry_file;

/// Which registry a job governs: the one compiled into `flagsync` (default), or `--file`.
#[derive(Debug, Clone, Args)]
pub(crate) struct RegistryArgs {
    /// Read the registry from this flags.yaml instead of the one compiled into flagsync.
    #[arg(long, value_name = "FLAGS_YAML")]
    pub(crate) file: Option<PathBuf>,
}

impl RegistryArgs {
    /// The registry, or the rendered errors of `--file` on stderr.
    pub(crate) fn registry(
        &self,
        compiled: &'static Registry,
    ) -> Result<&'static Registry, super::Exit> {
        match &self.file {
            None => Ok(compiled),
            Some(path) => load_registry_file(path).map_err(|e| {
                eprintln!("error: {e}");
                super::Exit::Failed
            }),
        }
    }
}

/// How to reach PostHog. Keys come only from the environment (`POSTHOG_PERSONAL_API_KEY`,
/// `POSTHOG_PROJECT_API_KEY`), never from arguments, which other users of the machine can read.
#[derive(Debug, Clone, Args)]
pub(crate) struct PosthogArgs {
    /// PostHog's private API host (default: `POSTHOG_HOST`, else https://us.posthog.com).
    #[arg(long, value_name = "URL")]
    pub(crate) host: Option<String>,
    /// The numeric project id (default: `POSTHOG_PROJECT_ID`).
    #[arg(long, value_name = "ID")]
    pub(crate) project_id: Option<u64>,
}

impl PosthogArgs {
    /// A client from the environment with the arguments' overrides; configuration errors name
    /// the variable at fault (and never print a key).
    pub(crate) fn client(&self) -> Result<Client, super::Exit> {
        let built = Config::builder_from_lookup(|name| std::env::var(name).ok()).and_then(|b| {
            let mut b = b;
            if let Some(host) = &self.host {
                b = b.host(host.clone());
            }
            if let Some(id) = self.project_id {
                b = b.project_id(id);
            }
            Client::new(b.build()?)
        });
        built.map_err(|e| {
            eprintln!("error: {e}");
            super::Exit::Failed
        })
    }
}

/// A current-thread tokio runtime with timers and I/O, or the error on stderr.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, super::Exit> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            super::Exit::Failed
        })
}

/// What a job that talks to PostHog starts from: its registry, a client and a runtime. Each
/// failure is already reported on stderr.
pub(crate) fn connect(
    registry: &RegistryArgs,
    posthog: &PosthogArgs,
    compiled: &'static Registry,
) -> Result<(&'static Registry, Client, tokio::runtime::Runtime), super::Exit> {
    Ok((registry.registry(compiled)?, posthog.client()?, runtime()?))
}
