#!/usr/bin/env bash
# Incremental `cargo build` of the root crate after a one-line edit of flags.yaml, with a
# registry of 10 and of 1,000 flags. Works on a copy of the workspace in a temp dir (the
# repository's own flags.yaml is never touched) with its own target dir.
#   usage: scripts/bench-incremental-build.sh [N ...]    (default: 10 1000)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$root/Cargo.toml" "$root/Cargo.lock" "$root/build.rs" "$root/src" "$root/examples" "$root/flags-codegen" "$root/flags-macros" "$root/flags-runtime" "$work/"
# The copy needs only the registry crate: drop the test-only dev-dependencies' targets.
export CARGO_TARGET_DIR="$root/target/bench-incremental"
cargo build -q --release -p flags-codegen --bench registry --manifest-path "$root/Cargo.toml" 2>/dev/null || true
emit() { cargo bench -q -p flags-codegen --bench registry --manifest-path "$root/Cargo.toml" -- --emit "$1"; }
for n in "${@:-10 1000}"; do
  for n1 in $n; do
    emit "$n1" > "$work/flags.yaml"
    cargo build -q --manifest-path "$work/Cargo.toml" --lib
    times=()
    for round in 1 2 3; do
      # One-line edit: the description of the first flag.
      sed -i "0,/description: .*/s//description: Edited description, round $round./" "$work/flags.yaml"
      start=$(date +%s.%N)
      cargo build -q --manifest-path "$work/Cargo.toml" --lib
      end=$(date +%s.%N)
      times+=("$(echo "$end - $start" | bc)")
    done
    sorted=$(printf '%s\n' "${times[@]}" | sort -n)
    median=$(echo "$sorted" | sed -n 2p)
    echo "$n1 flags: incremental cargo build after a one-line yaml edit: median ${median}s (runs: ${times[*]})"
  done
done
