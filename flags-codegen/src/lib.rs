//! The `flags.yaml` model (work in progress).
