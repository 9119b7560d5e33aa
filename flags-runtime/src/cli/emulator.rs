//! `flagsync emulator`: the local PostHog emulator as a process, so an application or a CI
//! job can point `POSTHOG_HOST` at it.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use super::Exit;
use crate::emulator::EmulatorBuilder;

/// Arguments of `flagsync emulator`.
#[derive(Debug, Args)]
pub(crate) struct EmulatorArgs {
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8010)]
    port: u16,
    /// Load state from this JSON file at start, and keep it there.
    #[arg(long)]
    state: Option<PathBuf>,
}

pub(crate) fn run(args: &EmulatorArgs) -> Exit {
    let runtime = match super::common::runtime() {
        Ok(rt) => rt,
        Err(exit) => return exit,
    };
    runtime.block_on(async {
        let mut builder =
            EmulatorBuilder::default().addr(SocketAddr::from(([127, 0, 0, 1], args.port)));
        if let Some(state) = &args.state {
            builder = builder.state_file(state.clone());
        }
        let emulator = match builder.start().await {
            Ok(e) => e,
            Err(e) => {
                eprintln!(
                    "error: cannot start the emulator on 127.0.0.1:{}: {e}",
                    args.port
                );
                return Exit::Failed;
            }
        };
        // The emulator's own well-known test keys, not secrets: printed so clients can connect.
        println!("PostHog emulator listening on {}", emulator.base_url());
        println!("POSTHOG_HOST={}", emulator.base_url());
        println!("POSTHOG_PROJECT_ID={}", emulator.project_id());
        println!("POSTHOG_PERSONAL_API_KEY={}", emulator.personal_api_key());
        println!("POSTHOG_PROJECT_API_KEY={}", emulator.project_api_key());
        std::future::pending::<()>().await;
        Exit::Clean
    })
}
