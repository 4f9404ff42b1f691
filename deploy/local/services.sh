#!/usr/bin/env bash
# Local stand-ins for CloudSage's external services, for tests and CI on a machine
# without Docker:
#   Kafka       -> tansu broker (Kafka wire protocol, in-memory storage)
#   ClickHouse  -> Debian's clickhouse-server (18.16), own config and data dir
#   SMTP        -> aiosmtpd (Python), prints every received mail to its log and keeps it
#                  in a Maildir (<run>/smtp/data/maildir, CLOUDSAGE_SMTP_MAILBOX in `env`)
#
# Usage: deploy/local/services.sh install|start|stop|restart|status|env|topics [NAME...]|smoke|logs
#
# Everything lives under $CLOUDSAGE_RUN_DIR (default /tmp/cloudsage-local):
#   <run>/<service>/pid   <run>/<service>/log   <run>/<service>/data ...
# Ports (all bound to 127.0.0.1) can be moved with:
#   CLOUDSAGE_LOCAL_KAFKA_PORT (9092)  CLOUDSAGE_LOCAL_CH_HTTP_PORT (8123)
#   CLOUDSAGE_LOCAL_CH_TCP_PORT (9000) CLOUDSAGE_LOCAL_SMTP_PORT (2525)
# CLOUDSAGE_LOCAL_TIMEOUT: seconds to wait for each service to be ready (60).
# CLOUDSAGE_LOCAL_SERVICES: which services to act on ("clickhouse kafka smtp").
set -euo pipefail

HOST=127.0.0.1
RUN_DIR="${CLOUDSAGE_RUN_DIR:-/tmp/cloudsage-local}"
KAFKA_PORT="${CLOUDSAGE_LOCAL_KAFKA_PORT:-9092}"
CH_HTTP_PORT="${CLOUDSAGE_LOCAL_CH_HTTP_PORT:-8123}"
CH_TCP_PORT="${CLOUDSAGE_LOCAL_CH_TCP_PORT:-9000}"
SMTP_PORT="${CLOUDSAGE_LOCAL_SMTP_PORT:-2525}"
TIMEOUT="${CLOUDSAGE_LOCAL_TIMEOUT:-60}"
TANSU_VERSION=0.6.0
TANSU_FEATURES=dynostore # the in-memory storage engine (memory://)
CH_DATABASE="${CLOUDSAGE_LOCAL_CH_DATABASE:-cloudsage_test}"
# Topics that `topics` creates when given no names (schemas/src/topics.rs: all_topics()).
DEFAULT_TOPICS=(logs.raw windows.scored forecasts alerts
  logs.raw.dlq windows.scored.dlq forecasts.dlq alerts.dlq)
TOPIC_PARTITIONS="${CLOUDSAGE_LOCAL_TOPIC_PARTITIONS:-3}"

# CLOUDSAGE_LOCAL_SERVICES narrows the set, e.g. "clickhouse smtp".
read -r -a SERVICES <<<"${CLOUDSAGE_LOCAL_SERVICES:-clickhouse kafka smtp}"
for _svc in "${SERVICES[@]}"; do
  case "$_svc" in clickhouse | kafka | smtp) ;; *) echo "unknown service: $_svc" >&2; exit 2 ;; esac
done

# cargo-installed tools (tansu) live in ~/.cargo/bin, which a CI shell may not have on PATH.
if [[ -d "${CARGO_HOME:-$HOME/.cargo}/bin" ]]; then
  PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi
PYTHON="${PYTHON:-$(command -v python3 || command -v python || echo python3)}"

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }
now_ms() { date +%s%3N; }

# ---------------------------------------------------------------- install

have_clickhouse() { command -v clickhouse-server >/dev/null 2>&1 || [[ -x /usr/sbin/clickhouse-server ]]; }

wants() { [[ " ${SERVICES[*]} " == *" $1 "* ]]; }

# tansu's default features have no storage engine at all (`memory://` fails with
# FeatureNotEnabled "dynostore"), so it must be installed with the dynostore feature.
# cargo records the features of what it installed in $CARGO_HOME/.crates2.json.
have_tansu() {
  command -v tansu >/dev/null 2>&1 || return 1
  [[ "$(tansu --version 2>/dev/null)" == "tansu $TANSU_VERSION" ]] || return 1
  "$PYTHON" - "${CARGO_HOME:-$HOME/.cargo}/.crates2.json" "$TANSU_VERSION" "$TANSU_FEATURES" <<'PY'
import json, sys
path, version, wanted = sys.argv[1], sys.argv[2], set(sys.argv[3].split(","))
try:
    installs = json.load(open(path))["installs"]
except (OSError, ValueError, KeyError):
    sys.exit(1)
ok = any(k.startswith(f"tansu {version} ") and wanted <= set(v.get("features", []))
         for k, v in installs.items())
sys.exit(0 if ok else 1)
PY
}

have_aiosmtpd() { "$PYTHON" -c 'import aiosmtpd' >/dev/null 2>&1; }

# The broker-restart test (cli/tests/broker_restart.rs) runs a private tansu with durable
# storage: the installed dynostore build offers s3://, served by a local moto S3 server
# (pip, seconds) instead of rebuilding tansu with libsql (15-25 minutes).
have_moto() { "$PYTHON" -c 'import moto.server, flask, flask_cors' >/dev/null 2>&1; }

cmd_install() {
  local apt_pkgs=()
  if wants clickhouse; then
    have_clickhouse || apt_pkgs+=(clickhouse-server)
    command -v clickhouse-client >/dev/null 2>&1 || apt_pkgs+=(clickhouse-client)
  fi
  command -v curl >/dev/null 2>&1 || apt_pkgs+=(curl)
  if ((${#apt_pkgs[@]})); then
    log "apt-get install ${apt_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # The package's postinst tries to start the system service; that may fail without
    # systemd, which is fine: we never use the system instance.
    apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null ||
      die "apt-get install ${apt_pkgs[*]} failed"
  fi

  if wants kafka && ! have_tansu; then
    if pgrep -f "cargo install tansu" >/dev/null 2>&1; then
      log "a 'cargo install tansu' is already running; waiting for it"
      while pgrep -f "cargo install tansu" >/dev/null 2>&1; do sleep 10; done
    fi
    if ! have_tansu; then
      log "cargo install tansu --version $TANSU_VERSION --features $TANSU_FEATURES --locked (15-25 minutes on 2 cores)"
      cargo install tansu --version "$TANSU_VERSION" --features "$TANSU_FEATURES" --locked --quiet ||
        die "cargo install tansu failed"
      have_tansu || die "tansu installed, but not found as tansu $TANSU_VERSION with features $TANSU_FEATURES"
    fi
  fi

  if wants kafka && ! have_moto; then
    log "pip install moto[server]"
    "$PYTHON" -m pip install --quiet --disable-pip-version-check 'moto[server]' ||
      die "pip install moto[server] failed"
  fi

  if wants smtp && ! have_aiosmtpd; then
    log "pip install aiosmtpd"
    "$PYTHON" -m pip install --quiet --disable-pip-version-check aiosmtpd ||
      die "pip install aiosmtpd failed"
  fi
  log "install: all present for: ${SERVICES[*]}"
}

# ---------------------------------------------------------------- helpers

svc_dir() { printf '%s/%s' "$RUN_DIR" "$1"; }
pid_file() { printf '%s/pid' "$(svc_dir "$1")"; }
log_file() { printf '%s/log' "$(svc_dir "$1")"; }

# Name that must appear in /proc/<pid>/cmdline, so a recycled pid is never taken for ours.
svc_marker() {
  case "$1" in
    clickhouse) echo clickhouse ;;
    kafka) echo tansu ;;
    smtp) echo aiosmtpd ;;
  esac
}

svc_port() {
  case "$1" in
    clickhouse) echo "$CH_HTTP_PORT" ;;
    kafka) echo "$KAFKA_PORT" ;;
    smtp) echo "$SMTP_PORT" ;;
  esac
}

# Prints the pid if the pid file names a live process of this service.
svc_pid() {
  local pf pid
  pf="$(pid_file "$1")"
  [[ -s "$pf" ]] || return 1
  pid="$(<"$pf")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$(svc_marker "$1")" || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# Readiness probes: each returns 0 only when the service really answers.
healthy_clickhouse() {
  [[ "$(curl -s --max-time 2 "http://$HOST:$CH_HTTP_PORT/ping" 2>/dev/null)" == "Ok." ]]
}

healthy_kafka() {
  port_open "$KAFKA_PORT" || return 1
  # A real Kafka request (Metadata) through tansu's own client.
  timeout 5 tansu topic list --broker "tcp://$HOST:$KAFKA_PORT" >/dev/null 2>&1
}

healthy_smtp() {
  # The greeting of an SMTP server starts with 220.
  (
    exec 3<>"/dev/tcp/$HOST/$SMTP_PORT" || exit 1
    line=""
    read -r -t 3 line <&3 || true
    printf 'QUIT\r\n' >&3 || true
    [[ "$line" == 220* ]]
  ) 2>/dev/null
}

healthy() { "healthy_$1"; }

# Starts "$@" detached in its own session; the pid file holds the pid of the program
# itself (the wrapper shell execs into it).
spawn() {
  local svc="$1"
  shift
  local dir
  dir="$(svc_dir "$svc")"
  [[ -f "$dir/log" ]] && mv -f "$dir/log" "$dir/log.prev"
  # shellcheck disable=SC2016  # $$ and $@ are for the inner shell
  nohup setsid bash -c 'echo $$ >"$0"; exec "$@"' "$dir/pid" "$@" \
    >"$dir/log" 2>&1 </dev/null &
}

write_clickhouse_config() {
  local dir="$1"
  cat >"$dir/config.xml" <<EOF
<?xml version="1.0"?>
<!-- Generated by deploy/local/services.sh: a local, loopback-only ClickHouse for tests. -->
<yandex>
    <logger>
        <level>information</level>
        <log>$dir/server.log</log>
        <errorlog>$dir/server.err.log</errorlog>
        <size>100M</size>
        <count>2</count>
    </logger>
    <listen_host>$HOST</listen_host>
    <http_port>$CH_HTTP_PORT</http_port>
    <tcp_port>$CH_TCP_PORT</tcp_port>
    <max_connections>1024</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <path>$dir/data/</path>
    <tmp_path>$dir/tmp/</tmp_path>
    <user_files_path>$dir/user_files/</user_files_path>
    <format_schema_path>$dir/format_schemas/</format_schema_path>
    <users_config>$dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
</yandex>
EOF
  cat >"$dir/users.xml" <<'EOF'
<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <use_uncompressed_cache>0</use_uncompressed_cache>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>::1</ip>
                <ip>127.0.0.1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF
}

launch_clickhouse() {
  local dir bin
  dir="$(svc_dir clickhouse)"
  mkdir -p "$dir"/{data,tmp,user_files,format_schemas}
  write_clickhouse_config "$dir"
  bin="$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)"
  (cd "$dir" && spawn clickhouse "$bin" --config-file="$dir/config.xml")
}

launch_kafka() {
  mkdir -p "$(svc_dir kafka)"
  spawn kafka "$(command -v tansu)" broker \
    --listener-url "tcp://$HOST:$KAFKA_PORT" \
    --advertised-listener-url "tcp://$HOST:$KAFKA_PORT" \
    --storage-engine "memory://tansu/"
}

smtp_maildir() { printf '%s/data/maildir' "$(svc_dir smtp)"; }

# aiosmtpd handler that both prints each message (as the stock Debugging handler does: the
# smoke check reads the log) and stores it in a Maildir, one file per mail under new/, so
# tests can read what arrived.
write_smtp_handler() {
  cat >"$1/cloudsage_smtp.py" <<'PY'
from aiosmtpd.handlers import Debugging, Mailbox


class LogAndMaildir:
    def __init__(self, maildir):
        self.log = Debugging()
        self.box = Mailbox(maildir)

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("LogAndMaildir usage: MAILDIR")
        return cls(args[0])

    async def handle_DATA(self, server, session, envelope):
        await self.log.handle_DATA(server, session, envelope)
        return await self.box.handle_DATA(server, session, envelope)
PY
}

# True if the running aiosmtpd (pid $1) stores mail where `env` says it does.
smtp_has_maildir() {
  tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$(smtp_maildir)" && [[ -d "$(smtp_maildir)" ]]
}

launch_smtp() {
  local dir
  dir="$(svc_dir smtp)"
  # All three Maildir folders: Python's Maildir creates them only for a missing directory.
  mkdir -p "$dir" "$(smtp_maildir)"/{cur,new,tmp}
  write_smtp_handler "$dir"
  # -n: no setuid. `env` execs python in place, so the pid file still names aiosmtpd.
  spawn smtp env PYTHONPATH="$dir" "$PYTHON" -u -m aiosmtpd -n -l "$HOST:$SMTP_PORT" \
    -c cloudsage_smtp.LogAndMaildir "$(smtp_maildir)"
}

# After start, things a test may rely on.
post_start_clickhouse() {
  curl -sf --max-time 10 "http://$HOST:$CH_HTTP_PORT/" \
    --data-binary "CREATE DATABASE IF NOT EXISTS $CH_DATABASE" >/dev/null ||
    die "could not create database $CH_DATABASE"
}
post_start_kafka() { :; }
post_start_smtp() { :; }

fail_with_log() {
  local svc="$1" msg="$2" f
  log "$svc: $msg; last lines of its logs:"
  for f in "$(log_file "$svc")" "$(svc_dir "$svc")/server.err.log"; do
    if [[ -s "$f" ]]; then
      printf -- '----- %s\n' "$f" >&2
      tail -n 40 "$f" >&2
    fi
  done
  die "$svc did not come up"
}

start_one() {
  local svc="$1" pid t0 deadline
  if [[ "$svc" == smtp ]] && pid="$(svc_pid smtp)" && ! smtp_has_maildir "$pid"; then
    log "smtp: pid $pid was started without a Maildir by an older version of this script; restarting it"
    finish_stop smtp "$(signal_one smtp)"
  fi
  if pid="$(svc_pid "$svc")"; then
    if healthy "$svc"; then
      log "$svc: already running (pid $pid) and healthy"
      return 0
    fi
    log "$svc: pid $pid is running but not (yet) healthy; waiting for it"
  else
    rm -f "$(pid_file "$svc")"
    if port_open "$(svc_port "$svc")"; then
      die "$svc: port $(svc_port "$svc") on $HOST is already taken by a process this script did not start (run dir $RUN_DIR); stop it or move the port (see the header of $0)"
    fi
    case "$svc" in
      clickhouse) have_clickhouse || die "clickhouse-server not installed: run '$0 install'" ;;
      kafka) have_tansu || die "tansu $TANSU_VERSION (features $TANSU_FEATURES) not installed: run '$0 install'" ;;
      smtp) have_aiosmtpd || die "aiosmtpd not installed: run '$0 install'" ;;
    esac
    "launch_$svc"
  fi
  t0="$(now_ms)"
  deadline=$(($(date +%s) + TIMEOUT))
  # Give the wrapper a moment to write its pid file.
  while ! svc_pid "$svc" >/dev/null; do
    (($(date +%s) < deadline)) || fail_with_log "$svc" "process not found (exited at once?)"
    sleep 0.1
  done
  until healthy "$svc"; do
    svc_pid "$svc" >/dev/null || fail_with_log "$svc" "process exited during start-up"
    (($(date +%s) < deadline)) || fail_with_log "$svc" "not ready within ${TIMEOUT}s"
    sleep 0.2
  done
  "post_start_$svc"
  log "$svc: ready in $(($(now_ms) - t0)) ms (pid $(svc_pid "$svc"), port $(svc_port "$svc"), log $(log_file "$svc"))"
}

# True while the process exists and is not a zombie.
alive() {
  local state
  state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z ]]
}

# Sends SIGTERM to the service's process group (its own session, see spawn); prints the pid.
signal_one() {
  local svc="$1" pid
  pid="$(svc_pid "$svc")" || return 1
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  echo "$pid"
}

# Waits up to 5 s for a signalled service to exit (then SIGKILL), and removes its data.
finish_stop() {
  local svc="$1" pid="$2" i dir
  if [[ -n "$pid" ]]; then
    for ((i = 0; i < 50; i++)); do
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then
      log "$svc: pid $pid ignored SIGTERM for 5s; sending SIGKILL"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
    log "$svc: stopped (pid $pid)"
  else
    log "$svc: not running"
  fi
  rm -f "$(pid_file "$svc")"
  # Data is throw-away: the next start begins empty. Logs stay for post-mortems.
  dir="$(svc_dir "$svc")"
  rm -rf "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas"
}

# ---------------------------------------------------------------- commands

cmd_start() {
  mkdir -p "$RUN_DIR"
  local svc
  for svc in "${SERVICES[@]}"; do start_one "$svc"; done
}

cmd_stop() {
  local svc pids=()
  # Signal all first, then wait: the services shut down in parallel.
  for svc in "${SERVICES[@]}"; do pids+=("$(signal_one "$svc" || true)"); done
  local i
  for i in "${!SERVICES[@]}"; do finish_stop "${SERVICES[$i]}" "${pids[$i]}"; done
}

cmd_status() {
  local svc pid rc=0
  for svc in "${SERVICES[@]}"; do
    if pid="$(svc_pid "$svc")"; then
      if healthy "$svc"; then
        printf '%-10s running  healthy    pid %-7s %s:%s\n' "$svc" "$pid" "$HOST" "$(svc_port "$svc")"
      else
        printf '%-10s running  UNHEALTHY  pid %-7s %s:%s\n' "$svc" "$pid" "$HOST" "$(svc_port "$svc")"
        rc=1
      fi
    else
      printf '%-10s stopped\n' "$svc"
      rc=1
    fi
  done
  return "$rc"
}

cmd_env() {
  cat <<EOF
export CLOUDSAGE_KAFKA__BROKERS=$HOST:$KAFKA_PORT
export CLOUDSAGE_CLICKHOUSE__URL=http://$HOST:$CH_HTTP_PORT
export CLOUDSAGE_CLICKHOUSE__DATABASE=$CH_DATABASE
export CLOUDSAGE_SMTP_ADDR=$HOST:$SMTP_PORT
export CLOUDSAGE_SMTP_MAILBOX=$(smtp_maildir)
export CLOUDSAGE_REQUIRE_SERVICES=1
EOF
}

# Creates topics with tansu's CLI (default: all of CloudSage's topics). Existing ones are
# left alone.
cmd_topics() {
  local topics=("$@") existing t
  ((${#topics[@]})) || topics=("${DEFAULT_TOPICS[@]}")
  existing="$(tansu topic list --broker "tcp://$HOST:$KAFKA_PORT" 2>/dev/null || true)"
  for t in "${topics[@]}"; do
    if grep -q "\"$t\"" <<<"$existing"; then
      log "topic $t: exists"
    else
      tansu topic create --broker "tcp://$HOST:$KAFKA_PORT" --partitions "$TOPIC_PARTITIONS" "$t" >/dev/null ||
        die "could not create topic $t"
      log "topic $t: created ($TOPIC_PARTITIONS partitions)"
    fi
  done
}

# End-to-end check of the running services (deploy/local/smoke.py); installs the Python
# Kafka client it needs if missing.
cmd_smoke() {
  if ! "$PYTHON" -c 'import confluent_kafka' >/dev/null 2>&1; then
    log "pip install confluent-kafka"
    "$PYTHON" -m pip install --quiet --disable-pip-version-check confluent-kafka ||
      die "pip install confluent-kafka failed"
  fi
  eval "$(cmd_env)"
  "$PYTHON" "$(dirname "$0")/smoke.py" "$(log_file smtp)"
}

cmd_logs() {
  local svc
  for svc in "${SERVICES[@]}"; do
    printf -- '----- %s (%s)\n' "$svc" "$(log_file "$svc")"
    tail -n "${LINES:-20}" "$(log_file "$svc")" 2>/dev/null || true
  done
}

usage() {
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
}

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    restart) cmd_stop && cmd_start ;;
    status) cmd_status ;;
    env) cmd_env ;;
    topics) cmd_topics "$@" ;;
    logs) cmd_logs ;;
    smoke) cmd_smoke ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
