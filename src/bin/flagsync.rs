//! `flagsync`: check `flags.yaml`, and keep PostHog in line with it. The command line lives in
//! `flags_runtime::cli`; this binary hands it the registry compiled into this crate.

fn main() -> std::process::ExitCode {
    flags_runtime::cli::main(&flags::REGISTRY)
}
