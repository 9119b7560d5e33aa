//! This repository's feature-flag registry (work in progress).
