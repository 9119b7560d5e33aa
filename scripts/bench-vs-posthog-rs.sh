#!/usr/bin/env bash
# flags-runtime's local evaluation against posthog-rs 0.30's LocalEvaluator::evaluate_flag, on
# the issue's workload (gen_cases.py --seed 1 --flags 20 --users 10000 --cases 100000), single
# thread, in one criterion run; prints the table (ns per evaluation, ratio).
#
#   scripts/bench-vs-posthog-rs.sh            # extra arguments go to criterion
#
# The bench crate (benches/vs-posthog-rs) is outside the workspace, so the default build never
# compiles posthog-rs; it shares this repository's target directory. The workload is generated
# once into target/eval-bench/ with the oracle's generator (a venv in $VENV, default
# /tmp/oracle-venv, made from its pinned requirements if missing).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
input="${EVAL_BENCH_INPUT:-$repo/target/eval-bench/seed1-10k.json}"

if [[ ! -f "$input" ]]; then
  oracle_dir="${ORACLE_DIR:-}"
  for cand in "$repo/../shared/tools/posthog-oracle" "/work/shared/tools/posthog-oracle"; do
    if [[ -z "$oracle_dir" && -d "$cand" ]]; then oracle_dir="$(cd "$cand" && pwd)"; fi
  done
  [[ -n "$oracle_dir" && -f "$oracle_dir/gen_cases.py" ]] || { echo "oracle not found; set ORACLE_DIR or EVAL_BENCH_INPUT" >&2; exit 1; }
  venv="${VENV:-/tmp/oracle-venv}"
  if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q -r "$oracle_dir/requirements.txt"
  fi
  mkdir -p "$(dirname "$input")"
  "$venv/bin/python" "$oracle_dir/gen_cases.py" --seed 1 --flags 20 --users 10000 --cases 100000 --out "$input"
fi

cd "$repo/benches/vs-posthog-rs"
EVAL_BENCH_INPUT="$input" cargo bench --bench vs_posthog_rs -- "$@"

python3 - "$CARGO_TARGET_DIR/criterion/vs_posthog_rs" "$input" <<'PY'
import json, os, sys
root, input_path = sys.argv[1], sys.argv[2]
cases = len(json.load(open(input_path))["cases"])
def ns(name):
    d = os.path.join(root, name, "new")
    mean = json.load(open(os.path.join(d, "estimates.json")))["mean"]["point_estimate"] / cases
    sample = json.load(open(os.path.join(d, "sample.json")))
    best = min(t / i for t, i in zip(sample["times"], sample["iters"])) / cases
    return mean, best
theirs, theirs_best = ns("posthog_rs")
print(f"\n{cases:,} cases, single thread; ns per evaluation, criterion's mean and (best sample), which is")
print("the steadier figure on a busy machine\n")
print("| evaluator | ns/eval | posthog-rs 0.30 ns/eval | speed-up (mean, best) |")
print("|---|---|---|---|")
for name, label in [("flags_runtime", "flags-runtime `Snapshot::evaluate` (by key)"),
                    ("flags_runtime_published", "flags-runtime, published rules (`arc-swap` load + evaluate)")]:
    ours, best = ns(name)
    print(f"| {label} | {ours:.0f} ({best:.0f}) | {theirs:.0f} ({theirs_best:.0f}) | {theirs / ours:.1f}×, {theirs_best / best:.1f}× |")
PY
