#!/usr/bin/env bash
# The one test command (README, .ci/run): installs and starts the local services
# (deploy/local/services.sh), then runs, in order:
#   cargo fmt --all -- --check
#   cargo clippy --workspace --all-targets -- -D warnings
#   cargo build --workspace --bins                 (the integration tests run the binaries)
#   cargo test --workspace --doc                   (doctests; nextest does not run them)
#   cargo nextest run --workspace --no-fail-fast    (or `cargo test --workspace` without nextest)
# Every phase runs even if an earlier one failed; the exit status is the test run's if
# that failed, else the first failing phase's. Services that this script started are
# stopped on exit; ones that were already up and healthy are left running.
#
# Knobs:
#   CLOUDSAGE_KEEP_SERVICES=1     leave the services running on exit
#   CLOUDSAGE_TEST_DOCTESTS=0     skip the doctest phase
#   CLOUDSAGE_TEST_ARGS="..."     extra arguments for nextest / cargo test (e.g. a filter)
#   CARGO_TARGET_DIR              as usual; under CI=true it defaults to a directory kept
#                                 on the machine ($HOME/.cache/cloudsage/target), so that
#                                 CI runs in fresh clones reuse compiled dependencies.
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT="$(pwd)"
SERVICES="$ROOT/deploy/local/services.sh"

if [[ -d "${CARGO_HOME:-$HOME/.cargo}/bin" ]]; then
  export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi
if [[ "${CI:-}" == "true" && -z "${CARGO_TARGET_DIR:-}" ]]; then
  export CARGO_TARGET_DIR="$HOME/.cache/cloudsage/target"
  mkdir -p "$CARGO_TARGET_DIR"
fi
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

T_START=$(date +%s.%N)
SUMMARY=()
FIRST_FAIL=0
TEST_RC=0

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# phase NAME CMD...: runs CMD, records its time and status; never aborts the script.
phase() {
  local name="$1" t0 rc=0
  shift
  printf '\n==> [%s] %s\n' "$name" "$*"
  t0=$(date +%s.%N)
  "$@" || rc=$?
  local secs
  secs="$(elapsed "$t0")"
  if ((rc == 0)); then
    printf '==> [%s] ok in %ss\n' "$name" "$secs"
    SUMMARY+=("$(printf '%-10s %8ss  ok' "$name" "$secs")")
  else
    printf '==> [%s] FAILED (exit %d) in %ss\n' "$name" "$rc" "$secs"
    SUMMARY+=("$(printf '%-10s %8ss  FAILED (exit %d)' "$name" "$secs" "$rc")")
    ((FIRST_FAIL != 0)) || FIRST_FAIL=$rc
  fi
  return "$rc"
}

STOP_SERVICES=0
# shellcheck disable=SC2317  # invoked by the EXIT trap
on_exit() {
  local rc=$?
  if ((STOP_SERVICES)) && [[ "${CLOUDSAGE_KEEP_SERVICES:-0}" != "1" ]]; then
    printf '\n==> [services] stopping\n'
    "$SERVICES" stop || true
  fi
  printf '\n==> timings\n'
  local line
  for line in "${SUMMARY[@]}"; do printf '    %s\n' "$line"; done
  printf '    %-10s %8ss\n' total "$(elapsed "$T_START")"
  exit "$rc"
}
trap on_exit EXIT

# ---- services: failing here is fatal (tests that need them would only fail later).
phase install "$SERVICES" install || exit $?
if "$SERVICES" status >/dev/null 2>&1; then
  echo "services already running and healthy: leaving them running afterwards"
else
  STOP_SERVICES=1
fi
phase services "$SERVICES" start || exit $?
eval "$("$SERVICES" env)"
"$SERVICES" env | sed 's/^/    /'

# ---- Rust checks and tests.
phase fmt cargo fmt --all -- --check || true
phase clippy cargo clippy --workspace --all-targets -- -D warnings || true
# The integration tests start the stage binaries (ingestor, scorer, …) as processes.
phase bins cargo build --workspace --bins || true
read -r -a EXTRA <<<"${CLOUDSAGE_TEST_ARGS:-}"
if cargo nextest --version >/dev/null 2>&1; then
  if [[ "${CLOUDSAGE_TEST_DOCTESTS:-1}" == "1" ]]; then
    phase doctests cargo test --workspace --doc || true
  fi
  phase tests cargo nextest run --workspace --no-fail-fast --no-tests=warn "${EXTRA[@]}" || TEST_RC=$?
else
  echo "cargo-nextest not found; falling back to cargo test (doctests included)"
  phase tests cargo test --workspace --no-fail-fast "${EXTRA[@]}" || TEST_RC=$?
fi

if ((TEST_RC != 0)); then
  exit "$TEST_RC"
fi
exit "$FIRST_FAIL"
