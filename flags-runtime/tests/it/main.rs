//! Integration tests: the real client against the real emulator over HTTP on 127.0.0.1.
//! Nothing of our own is mocked. Tests assert counts and states, never timings.
#![allow(clippy::unwrap_used)]

mod app_client;
mod app_emulator;
mod app_registry;
mod client_calls;
mod client_config;
mod client_redaction;
mod client_retries;
mod emulator_conformance;
mod inventory;
mod support;
