//! What the end-to-end tests of `flagsync` share: an emulator served by a runtime of its own
//! (so it answers while a test blocks on the binary), and the real binary pointed at it.

use std::process::Command;

use flags_runtime::emulator::Emulator;

/// A local PostHog for one test.
pub struct Posthog {
    /// The emulator.
    pub emu: Emulator,
    /// The runtime serving it (held so the emulator keeps serving; not every test blocks on it).
    #[allow(dead_code)]
    pub rt: tokio::runtime::Runtime,
}

impl Posthog {
    /// Starts an emulator on 127.0.0.1.
    pub fn start() -> Posthog {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let emu = rt.block_on(Emulator::start()).expect("emulator");
        Posthog { emu, rt }
    }

    /// The `flagsync` binary with this emulator's host, project and personal key, and none of
    /// the other variables that would change a run (public host, project key, Slack, GitHub).
    pub fn flagsync(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_flagsync"));
        for var in [
            "POSTHOG_PUBLIC_HOST",
            "POSTHOG_PROJECT_API_KEY",
            "SLACK_WEBHOOK_URL",
            "GITHUB_STEP_SUMMARY",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("POSTHOG_HOST", self.emu.base_url())
            .env("POSTHOG_PROJECT_ID", self.emu.project_id().to_string())
            .env("POSTHOG_PERSONAL_API_KEY", self.emu.personal_api_key());
        cmd
    }
}
