#!/usr/bin/env bash
# Regenerates the evaluator's test vectors (flags-runtime/tests/vectors/) with the oracle:
# posthog-python's own local evaluation, run by ../shared/tools/posthog-oracle.
#
#   scripts/oracle/regenerate.sh            # vectors: seeds 1-5, PostHog's 1,000-id fixtures, edge cases
#   scripts/oracle/regenerate.sh --bench    # also the 100,000-case bench input (not committed, ~10 MB)
#
# Environment: ORACLE_DIR (default: ../shared/tools/posthog-oracle next to the repository),
# PYTHON (default: a venv in $VENV, default /tmp/oracle-venv, created from the oracle's
# pinned requirements.txt if missing).
#
# Expected answers are never written by hand: every *.expected.jsonl is the oracle's output
# for the *.json beside it.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
oracle_dir="${ORACLE_DIR:-}"
if [[ -z "$oracle_dir" ]]; then
  for cand in "$repo/../shared/tools/posthog-oracle" "/work/shared/tools/posthog-oracle"; do
    if [[ -d "$cand" ]]; then oracle_dir="$(cd "$cand" && pwd)"; break; fi
  done
fi
[[ -n "$oracle_dir" && -f "$oracle_dir/oracle.py" ]] || { echo "oracle not found; set ORACLE_DIR" >&2; exit 1; }

venv="${VENV:-/tmp/oracle-venv}"
py="${PYTHON:-$venv/bin/python}"
if [[ ! -x "$py" ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$oracle_dir/requirements.txt"
  py="$venv/bin/python"
fi

out="$repo/flags-runtime/tests/vectors"
mkdir -p "$out"

# 1. Generated workloads, seeds 1-5 (small enough to commit uncompressed).
for seed in 1 2 3 4 5; do
  "$py" "$oracle_dir/gen_cases.py" --seed "$seed" --flags 20 --users 300 --cases 3000 \
    --out "$out/gen-seed$seed.json"
  "$py" "$oracle_dir/oracle.py" "$out/gen-seed$seed.json" --out "$out/gen-seed$seed.expected.jsonl" 2>/dev/null
done

# 1b. A heavier mix (more group flags, dependencies, cohorts, missing properties, early
#     exits). Relative dates stay off: their answers would move with the calendar.
"$py" "$oracle_dir/gen_cases.py" --seed 6 --flags 30 --users 300 --cases 4000 --group-frac 0.3 \
  --dep-frac 0.4 --cohort-frac 0.4 --cohorts 6 --missing-prob 0.2 --early-exit-frac 0.3 \
  --inactive-frac 0.15 --continuity-frac 0.1 --out "$out/gen-heavy-seed6.json"
"$py" "$oracle_dir/oracle.py" "$out/gen-heavy-seed6.json" --out "$out/gen-heavy-seed6.expected.jsonl" 2>/dev/null

# 2. PostHog's own 1,000-id consistency fixtures (45% flag, 5-variant flag), read from the
#    installed posthog-python test module by verify_consistency.py.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$py" "$oracle_dir/verify_consistency.py" --emit "$tmp" >/dev/null
for name in test_simple_flag_consistency test_multivariate_flag_consistency; do
  # Drop meta.source (an absolute path on the generating machine); keep meta.expected,
  # PostHog's own expected list, which the tests check as well.
  "$py" - "$tmp/$name.json" "$out/posthog-$name.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
doc["meta"].pop("source", None)
json.dump(doc, open(sys.argv[2], "w"), separators=(",", ":"))
EOF
  "$py" "$oracle_dir/oracle.py" "$out/posthog-$name.json" --out "$out/posthog-$name.expected.jsonl" 2>/dev/null
done

# 3. Hand-written edge cases: inputs from edge_cases.py (written by hand), answers by the oracle.
"$py" "$repo/scripts/oracle/edge_cases.py" "$out"
for f in "$out"/edge-*.json; do
  [[ -e "$f" ]] || continue
  "$py" "$oracle_dir/oracle.py" "$f" --out "${f%.json}.expected.jsonl" 2>/dev/null
done

# 4. Optional: the bench workload from the issue (100,000 cases), into target/ (git-ignored).
if [[ "${1:-}" == "--bench" ]]; then
  mkdir -p "$repo/target/eval-bench"
  "$py" "$oracle_dir/gen_cases.py" --seed 1 --flags 20 --users 10000 --cases 100000 \
    --out "$repo/target/eval-bench/seed1-10k.json"
  "$py" "$oracle_dir/oracle.py" "$repo/target/eval-bench/seed1-10k.json" \
    --out "$repo/target/eval-bench/seed1-10k.expected.jsonl" 2>/dev/null
  echo "bench input: $repo/target/eval-bench/seed1-10k.json"
fi
echo "vectors written to $out"
