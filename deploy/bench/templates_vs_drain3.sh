#!/usr/bin/env bash
# Template mining throughput: CloudSage's logparse vs Drain3 (the Python
# reference implementation, https://github.com/logpai/Drain3), on the 8 Loghub
# 2k samples (https://github.com/logpai/loghub).
#
#   deploy/bench/templates_vs_drain3.sh [LOGHUB_DIR] [REPEAT]
#   CLI_REPEAT=N (env, default 125): how many times the sets are repeated in the
#   file `cloudsage templates` is timed on.
#
# LOGHUB_DIR defaults to ../shared/data/loghub relative to the workspace root
# (holding <Set>/<Set>_2k.log). Both sides mine the same raw lines, each
# set's 2000 lines REPEAT times over (default 5) into one fresh miner per set,
# timing only the in-memory mining loop:
#   * Drain3: drain3.TemplateMiner() with its default config, add_log_message
#     on the raw line (deploy/bench/drain3_bench.py);
#   * CloudSage: parse_line + TemplateMiner::add on the parsed message, the work
#     of `cloudsage templates` (logparse/examples/mine_throughput.rs), median of 5
#     runs; also the full scorer path (parse + features + mine).
# Also times `cloudsage templates` end to end (file in, TSV out, wall time) on
# one thread and on all cores.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DATA="${1:-$ROOT/../shared/data/loghub}"
REPEAT="${2:-5}"
PY="${PYTHON:-python3}"

if ! "$PY" -c 'import drain3' 2>/dev/null; then
  echo "installing drain3 ..." >&2
  "$PY" -m pip install --quiet drain3
fi

cd "$ROOT"
cargo build --release -p cloudsage --bin cloudsage >&2
cargo build --release -p logparse --example mine_throughput >&2

echo "== Drain3 $("$PY" -c 'import importlib.metadata as m; print(m.version("drain3"))') (default config, raw lines) =="
D3_OUT="$("$PY" deploy/bench/drain3_bench.py "$DATA" --repeat "$REPEAT")"
echo "$D3_OUT"
D3=$(echo "$D3_OUT" | sed -n 's/^drain3_lines_per_sec=\([0-9]*\).*/\1/p')

echo "== CloudSage logparse: parse_line + TemplateMiner::add =="
RS_OUT="$(target/release/examples/mine_throughput "$DATA" --repeat "$REPEAT" --runs 5 --mode mine)"
echo "$RS_OUT"
RS=$(echo "$RS_OUT" | sed -n 's/^rust_lines_per_sec=\([0-9]*\).*/\1/p')

echo "== CloudSage logparse: parse_line + extract_features + TemplateMiner::add =="
RP_OUT="$(target/release/examples/mine_throughput "$DATA" --repeat "$REPEAT" --runs 5 --mode pipeline)"
echo "$RP_OUT" | tail -1
RP=$(echo "$RP_OUT" | sed -n 's/^rust_lines_per_sec=\([0-9]*\).*/\1/p')

echo "== cloudsage templates (end to end: read, parse, mine, write TSV) =="
# A bigger file than the in-memory loops use (CLI_REPEAT x the 8 sets, default
# 125 = 2 000 000 lines, ~250 MB in a temporary directory) so start-up is
# noise; median of 3 runs each, on one thread and then one per core (the
# parallel output is checked to be identical).
CLI_REPEAT="${CLI_REPEAT:-125}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
for _ in $(seq "$CLI_REPEAT"); do awk 1 "$DATA"/*/*_2k.log; done > "$TMP/all.log"  # awk 1: final newline per file
N=$(wc -l < "$TMP/all.log")
CORES=$(nproc)
cli_rate() { # THREADS -> median lines/s of 3 runs
  local rates=()
  for _ in 1 2 3; do
    local t0 t1
    # Delete the previous run's output first: truncating it in the timed
    # redirect cost ~0.13 s of kernel time (freeing ~140 MB of written file),
    # which is not the miner's work.
    rm -f "$TMP/out$1.tsv"
    t0=$(date +%s.%N)
    target/release/cloudsage templates "$TMP/all.log" --threads "$1" > "$TMP/out$1.tsv"
    t1=$(date +%s.%N)
    rates+=("$(awk -v n="$N" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')")
  done
  printf '%s\n' "${rates[@]}" | sort -n | sed -n 2p
}
CLI1=$(cli_rate 1)
echo "cloudsage templates --threads 1: $N lines, $CLI1 lines/s (median of 3; includes I/O and process start)"
CLIN=$(cli_rate 0)
cmp -s "$TMP/out1.tsv" "$TMP/out0.tsv" || { echo "parallel output differs from one thread" >&2; exit 1; }
echo "cloudsage templates (one thread per core, $CORES cores): $N lines, $CLIN lines/s (median of 3; output identical to one thread)"

echo "== summary =="
awk -v d="$D3" -v r="$RS" -v p="$RP" -v c="$CLI1" -v m="$CLIN" -v k="$CORES" 'BEGIN {
  printf "drain3                      %10.0f lines/s\n", d
  printf "logparse parse+mine         %10.0f lines/s  ratio %.0fx\n", r, r / d
  printf "logparse parse+feat+mine    %10.0f lines/s  ratio %.0fx\n", p, p / d
  printf "cloudsage templates, 1 thread %8.0f lines/s  ratio %.0fx\n", c, c / d
  printf "cloudsage templates, %d cores %9.0f lines/s  ratio %.0fx (whole machine; Drain3 uses one core)\n", k, m, m / d
}'
