#!/usr/bin/env bash
# Lambdamart local Kafka: one KRaft node (broker + controller) run straight from
# Maven Central jars, no tarball and no Docker.
#
# Usage: infra/kafka/kafka.sh COMMAND
#   install          resolve the jars into $LAMBDAMART_CACHE_DIR/kafka/libs (only when pom.xml changed)
#   start            install if needed, format storage once, start the broker, wait until it answers
#   stop [NODE]      stop the broker(s) this script started (pid files only); NODE: only that one
#   status           one line per broker; exit 0 when every broker answers, 1 otherwise
#   topics [ARGS]    run TopicCommand against the broker (default: --describe; e.g. `topics --list`)
#
# Environment:
#   LAMBDAMART_DATA_DIR    runtime data (default: <repo>/data); Kafka uses <data>/kafka
#   LAMBDAMART_CACHE_DIR   downloads (default: <repo>/.cache); jars go to <cache>/kafka/libs
#   KAFKA_PORT             client port (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller port (default 9093)
#   KAFKA_NODES            brokers in the cluster (default 1). With 3: three KRaft nodes, each broker
#                          and controller, on loopback; node i (1..N) listens on KAFKA_PORT+2(i-1)
#                          and KAFKA_CONTROLLER_PORT+2(i-1) and keeps its files in <data>/kafka/node-i.
#                          Internal topics get replication factor 3 (min ISR 2).
#
# Files under <data>/kafka (or <data>/kafka/node-i with KAFKA_NODES > 1): server.properties
# (effective config), logs/ (topic data), server.log (broker log), stdout.log, kafka.pid,
# format.log; mvn-install.log under <data>/kafka.
set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/infra/kafka"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_NODES="${KAFKA_NODES:-1}"
HOST=127.0.0.1
READY_TIMEOUT=90 # seconds to wait for a starting broker
STOP_TIMEOUT=30  # seconds between SIGTERM and SIGKILL

log() { printf 'kafka: %s\n' "$*" >&2; }
die() {
  printf 'kafka: error: %s\n' "$*" >&2
  exit 1
}
# Anything that fails without an explicit check still ends with one readable line.
on_error() { # EXIT_CODE LINE COMMAND
  printf 'kafka: error: unexpected failure (exit %s) at %s:%s running: %s\n' "$1" "${BASH_SOURCE[0]}" "$2" "$3" >&2
}
trap 'on_error $? $LINENO "$BASH_COMMAND"' ERR

# Indent stdin by two spaces, to stderr (context lines under an error). Also
# drops ANSI colour codes, which Debian's Maven 3.8 prints even with -B.
indent() { sed -e 's/\x1b\[[0-9;]*m//g' -e 's/^/  /' >&2; }

# Seconds (one decimal) since START, a value of $EPOCHREALTIME.
elapsed_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# Print the last lines of a log file, indented, after a one-line error.
show_tail() { # FILE [LINES]
  local file=$1 lines=${2:-20}
  [[ -s "$file" ]] || return 0
  printf '  --- last %s lines of %s ---\n' "$lines" "$file" >&2
  tail -n "$lines" "$file" | indent
}

# The env vars may be relative paths: create the directories, make them absolute.
DATA_DIR="${LAMBDAMART_DATA_DIR:-$ROOT/data}"
CACHE_DIR="${LAMBDAMART_CACHE_DIR:-$ROOT/.cache}"
mkdir -p "$DATA_DIR" 2>/dev/null || die "cannot create LAMBDAMART_DATA_DIR $DATA_DIR; fix its permissions or set LAMBDAMART_DATA_DIR to a writable path"
mkdir -p "$CACHE_DIR" 2>/dev/null || die "cannot create LAMBDAMART_CACHE_DIR $CACHE_DIR; fix its permissions or set LAMBDAMART_CACHE_DIR to a writable path"
DATA_DIR="$(cd "$DATA_DIR" && pwd)"
CACHE_DIR="$(cd "$CACHE_DIR" && pwd)"
KAFKA_BASE="$DATA_DIR/kafka"       # the lock, mvn-install.log and, with several nodes, node-i/
LIBS="$CACHE_DIR/kafka/libs"
STAMP="$CACHE_DIR/kafka/libs.stamp" # sha256 of the pom.xml the jars were resolved from
MVN_LOG="$KAFKA_BASE/mvn-install.log"
CLUSTER_ID_FILE="$KAFKA_BASE/cluster-id" # several nodes: every node is formatted with this id
mkdir -p "$KAFKA_BASE" "$CACHE_DIR/kafka"

[[ "$KAFKA_NODES" =~ ^[1-9]$ ]] || die "invalid KAFKA_NODES '$KAFKA_NODES'; use a number of brokers between 1 and 9 (e.g. 3)"
for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
  if ! [[ "$p" =~ ^[0-9]+$ ]] || ((10#$p < 1 || 10#$p + 2 * (KAFKA_NODES - 1) > 65535)); then
    die "invalid port '$p' in KAFKA_PORT/KAFKA_CONTROLLER_PORT; use a number between 1 and 65535 (with KAFKA_NODES=$KAFKA_NODES, up to $((65535 - 2 * (KAFKA_NODES - 1))))"
  fi
done
BASE_PORT=$((10#$KAFKA_PORT))
# A cluster on one machine: three 1 GB heaps would be more than a dev box needs.
HEAP=1g
((KAFKA_NODES > 1)) && HEAP=512m
BASE_CONTROLLER_PORT=$((10#$KAFKA_CONTROLLER_PORT))
# Node i uses base + 2(i-1); with several nodes no client port may equal a controller port.
for ((i = 0; i < KAFKA_NODES; i++)); do
  for ((j = 0; j < KAFKA_NODES; j++)); do
    ((BASE_PORT + 2 * i != BASE_CONTROLLER_PORT + 2 * j)) ||
      die "KAFKA_PORT=$KAFKA_PORT and KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT give node $((i + 1)) and node $((j + 1)) the same port $((BASE_PORT + 2 * i)); choose ports that differ by an odd number (e.g. 29092 and 29093)"
  done
done

# The KRaft voters: every node is a controller.
VOTERS=""
for ((i = 1; i <= KAFKA_NODES; i++)); do
  VOTERS+="${VOTERS:+,}$i@$HOST:$((BASE_CONTROLLER_PORT + 2 * (i - 1)))"
done

# Points the per-node variables at node N (1..KAFKA_NODES). One node keeps today's layout.
select_node() { # N
  NODE=$1
  if ((KAFKA_NODES == 1)); then KDATA="$KAFKA_BASE"; else KDATA="$KAFKA_BASE/node-$NODE"; fi
  KAFKA_PORT=$((BASE_PORT + 2 * (NODE - 1)))
  KAFKA_CONTROLLER_PORT=$((BASE_CONTROLLER_PORT + 2 * (NODE - 1)))
  CONFIG="$KDATA/server.properties" # effective config written from the template
  LOG_DIRS="$KDATA/logs"            # Kafka's "log.dirs", i.e. the topic data
  PID_FILE="$KDATA/kafka.pid"
  SERVER_LOG="$KDATA/server.log"
  STDOUT_LOG="$KDATA/stdout.log"
  FORMAT_LOG="$KDATA/format.log"
  mkdir -p "$KDATA"
}
select_node 1

# Serialise start/stop/install so two callers (two terminals, parallel test
# setup) cannot launch two brokers. fd 9 is closed for the broker itself,
# otherwise it would hold the lock for as long as it runs.
take_lock() {
  exec 9>"$KAFKA_BASE/kafka.lock"
  flock -w 150 9 || die "another kafka.sh start/stop/install still holds $KAFKA_BASE/kafka.lock after 150 s; wait for it or kill it"
}

# ---------------------------------------------------------------- java / maven

# Install java and/or maven with apt-get when missing and we can (root +
# apt-get); otherwise fail with the package names to install.
ensure_tools() { # TOOL...  (java, mvn)
  local missing=() t
  for t in "$@"; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
  if ((${#missing[@]})); then
    local apt_log="$KAFKA_BASE/apt-install.log"
    if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
      log "${missing[*]} not found; installing maven and openjdk-17-jdk-headless with apt-get…"
      if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends maven openjdk-17-jdk-headless; } >"$apt_log" 2>&1; then
        show_tail "$apt_log" 10
        die "apt-get could not install java/maven (log: $apt_log); install them by hand: apt-get install -y openjdk-17-jre-headless maven"
      fi
      hash -r
    fi
    for t in "${missing[@]}"; do
      if ! command -v "$t" >/dev/null 2>&1; then
        [[ $t == java ]] && die "java not found; install it with: sudo apt-get install -y openjdk-17-jre-headless"
        die "mvn not found; install it with: sudo apt-get install -y maven"
      fi
    done
  fi
  if [[ " $* " == *" java "* ]]; then
    # Kafka 3.9 needs Java 11+ (17 recommended). `java -version` prints e.g.
    # openjdk version "17.0.15" or, for Java 8, "1.8.0_392".
    local v major
    v="$(java -version 2>&1 | sed -n 's/.* version "\([^"]*\)".*/\1/p' | head -n 1)"
    major="${v%%.*}"
    [[ $major == 1 ]] && major="$(cut -d. -f2 <<<"$v")"
    if ! [[ "$major" =~ ^[0-9]+$ ]] || ((major < 11)); then
      die "Kafka 3.9 needs Java 11 or newer but 'java' is version '${v:-unknown}'; install openjdk-17-jre-headless and make it the default java"
    fi
  fi
}

# Run one of the Kafka command-line tools (short-lived JVM, quiet logging).
run_tool() { # CLASS ARGS...
  java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dlog4j.configuration="file:$HERE/tools-log4j.properties" \
    -cp "$LIBS/*" "$@"
}

# ------------------------------------------------------------------- install

pom_hash() { sha256sum "$HERE/pom.xml" | cut -d' ' -f1; }

jars_up_to_date() {
  [[ -f "$STAMP" && "$(cat "$STAMP")" == "$(pom_hash)" ]] &&
    compgen -G "$LIBS/kafka_2.13-*.jar" >/dev/null
}

install_jars() {
  if jars_up_to_date; then
    return 0
  fi
  if broker_running; then
    die "pom.xml changed but the broker (pid $PID) runs from the old jars; run 'infra/kafka/kafka.sh stop' first, then install"
  fi
  ensure_tools java mvn
  log "resolving jars from Maven Central…"
  local t0=$EPOCHREALTIME partial="$CACHE_DIR/kafka/libs.partial"
  # Resolve into a scratch directory and swap it in at the end, so an
  # interrupted download never leaves a half-filled libs/ that looks usable.
  rm -rf "$partial"
  if ! mvn -q -B -f "$HERE/pom.xml" dependency:copy-dependencies -DoutputDirectory="$partial" >"$MVN_LOG" 2>&1; then
    show_tail "$MVN_LOG" 15
    die "Maven could not resolve the Kafka jars (full log: $MVN_LOG); check the versions in infra/kafka/pom.xml and access to Maven Central, then retry"
  fi
  # Guard against the NoSuchMethodError trap: exactly one kafka-clients jar.
  local clients
  clients="$(find "$partial" -maxdepth 1 -name 'kafka-clients-*.jar' | wc -l)"
  [[ $clients -eq 1 ]] ||
    die "expected exactly one kafka-clients jar in $partial but found $clients; make every Kafka artifact in infra/kafka/pom.xml use \${kafka.version}"
  rm -rf "$LIBS"
  mv "$partial" "$LIBS"
  pom_hash >"$STAMP"
  log "$(find "$LIBS" -maxdepth 1 -name '*.jar' | wc -l) jars in $LIBS ($(elapsed_since "$t0") s)"
}

# ------------------------------------------------------------ process checks

# Sets PID when the pid file names a live process whose command line has the
# exact argument kafka.Kafka. That is the only process this script ever signals.
broker_running() {
  PID=""
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(tr -dc '0-9' <"$PID_FILE")"
  [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
  grep -qxzF 'kafka.Kafka' "/proc/$pid/cmdline" 2>/dev/null || return 1
  PID=$pid
}

# True once PID has fully exited: no such process, or a zombie (the kernel
# closes a process's sockets before it turns into a zombie, but after its
# command line disappears, so this is the check to use before reusing ports).
process_gone() { # PID
  local state
  [[ -e "/proc/$1" ]] || return 0
  state="$(sed -n 's/.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null || true)"
  [[ -z "$state" || "$state" == Z ]]
}

# True when something accepts TCP connections on 127.0.0.1:PORT.
port_answers() { # PORT
  # shellcheck disable=SC2016 # $0/$1 are expanded by the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$HOST" "$1" 2>/dev/null
}

# True when any process listens on PORT (any address); prints the ss line(s).
port_taken() { # PORT
  if command -v ss >/dev/null 2>&1; then
    local out
    out="$(ss -Hltnp "sport = :$1" 2>/dev/null || true)"
    [[ -n "$out" ]] && { printf '%s\n' "$out"; return 0; }
    return 1
  fi
  port_answers "$1"
}

# The client port of the running broker, from the effective config it was
# started with (KAFKA_PORT of the current shell may differ).
running_port() {
  local p=""
  [[ -f "$CONFIG" ]] && p="$(sed -n 's|^advertised\.listeners=PLAINTEXT://[^:]*:\([0-9]*\).*|\1|p' "$CONFIG" | head -n 1)"
  printf '%s\n' "${p:-$KAFKA_PORT}"
}

# ----------------------------------------------------------------- start

# Write $CONFIG from the template. The keys that depend on the environment
# (data dir, ports) are replaced; everything else is copied verbatim.
write_config() {
  local tmp="$CONFIG.tmp"
  awk -v logdirs="$LOG_DIRS" -v host="$HOST" -v port="$KAFKA_PORT" -v cport="$KAFKA_CONTROLLER_PORT" \
    -v node="$NODE" -v nodes="$KAFKA_NODES" -v voters="$VOTERS" '
    BEGIN {
      o["log.dirs"] = logdirs
      o["listeners"] = "PLAINTEXT://" host ":" port ",CONTROLLER://" host ":" cport
      o["advertised.listeners"] = "PLAINTEXT://" host ":" port
      o["controller.quorum.voters"] = (nodes == 1) ? "1@" host ":" cport : voters
      if (nodes > 1) {
        # A cluster: its own node id, and internal topics that survive the loss of one broker.
        o["node.id"] = node
        o["offsets.topic.replication.factor"] = (nodes >= 3) ? 3 : nodes
        o["transaction.state.log.replication.factor"] = (nodes >= 3) ? 3 : nodes
        o["transaction.state.log.min.isr"] = (nodes >= 3) ? 2 : 1
      }
      print "# GENERATED by infra/kafka/kafka.sh from infra/kafka/server.properties; edit the template, not this file."
    }
    /^[ \t]*[^#! \t=]+[ \t]*=/ {
      key = $0; sub(/[ \t]*=.*/, "", key); sub(/^[ \t]+/, "", key)
      if (key in o) { print key "=" o[key]; seen[key] = 1; next }
    }
    { print }
    END { for (k in o) if (!(k in seen)) print k "=" o[k] }
  ' "$HERE/server.properties" >"$tmp"
  mv "$tmp" "$CONFIG"
}

# KRaft storage must be formatted once with a cluster id before first start.
format_storage_once() {
  [[ -f "$LOG_DIRS/meta.properties" ]] && return 0
  log "formatting KRaft storage in $LOG_DIRS…"
  mkdir -p "$LOG_DIRS"
  local uuid=""
  # Every node of a cluster is formatted with the same cluster id.
  ((KAFKA_NODES > 1)) && [[ -s "$CLUSTER_ID_FILE" ]] && uuid="$(cat "$CLUSTER_ID_FILE")"
  if [[ -z "$uuid" ]]; then
    if ! uuid="$(run_tool kafka.tools.StorageTool random-uuid 2>"$FORMAT_LOG")" || [[ -z "$uuid" ]]; then
      show_tail "$FORMAT_LOG"
      die "kafka.tools.StorageTool random-uuid failed (log: $FORMAT_LOG); delete $LIBS and $STAMP to re-download the jars"
    fi
    ((KAFKA_NODES > 1)) && printf '%s\n' "$uuid" >"$CLUSTER_ID_FILE"
  fi
  if ! run_tool kafka.tools.StorageTool format -t "$uuid" -c "$CONFIG" >>"$FORMAT_LOG" 2>&1; then
    show_tail "$FORMAT_LOG"
    die "formatting $LOG_DIRS failed (log: $FORMAT_LOG); if the directory holds old data you do not need, delete $LOG_DIRS and retry"
  fi
}

# True once the broker logged "Kafka Server started" after byte OFFSET of server.log.
started_in_log() { # OFFSET
  [[ -f "$SERVER_LOG" ]] || return 1
  local offset=$1
  (($(stat -c %s "$SERVER_LOG") >= offset)) || offset=0 # the log was rotated meanwhile
  # Not `tail | grep -q`: grep -q exits at the first match, tail then dies of SIGPIPE once this
  # run's log is larger than a pipe buffer, and pipefail would turn the match into a failure.
  grep -q 'Kafka Server started' < <(tail -c +"$((offset + 1))" "$SERVER_LOG")
}

# After a failed start: the last 20 lines of this run's server.log, plus any
# stdout.log lines that are not already in it (JVM errors such as a missing
# class or too little memory only show up there).
show_start_logs() { # OFFSET
  local offset=$1 server_tail="" extra=""
  if [[ -s "$SERVER_LOG" ]] && (($(stat -c %s "$SERVER_LOG") > offset)); then
    server_tail="$(tail -c +"$((offset + 1))" "$SERVER_LOG" | tail -n 20)"
    printf '  --- last lines of %s ---\n' "$SERVER_LOG" >&2
    printf '%s\n' "$server_tail" | indent
  fi
  if [[ -s "$STDOUT_LOG" ]]; then
    extra="$(grep -vxF -f <(printf '%s\n' "$server_tail") "$STDOUT_LOG" | tail -n 20 || true)"
    if [[ -n "$extra" ]]; then
      printf '  --- last lines of %s ---\n' "$STDOUT_LOG" >&2
      printf '%s\n' "$extra" | indent
    fi
  fi
  return 0
}

# The most telling line of a failed start (last exception or error), for the
# one-line error message.
start_failure_reason() { # OFFSET
  local offset=$1
  {
    [[ -f "$SERVER_LOG" ]] && tail -c +"$((offset + 1))" "$SERVER_LOG"
    [[ -f "$STDOUT_LOG" ]] && cat "$STDOUT_LOG"
  } | grep -E '(Exception|Error)(: | )' | grep -v '^[[:space:]]*at ' | tail -n 1 | cut -c1-300 || true
}

# Launches the selected node unless it already runs; sets LAUNCHED_OFFSET (where its server.log
# ended before launch) or leaves it empty when the node was already running.
launch_node() {
  local port
  LAUNCHED_OFFSET=""
  if broker_running; then
    port="$(running_port)"
    port_answers "$port" ||
      die "broker process $PID is running but does not answer on $HOST:$port (still starting or hung; see $SERVER_LOG); run 'infra/kafka/kafka.sh stop' and start again"
    [[ "$port" == "$KAFKA_PORT" ]] ||
      log "note: the running broker uses port $port, not KAFKA_PORT=$KAFKA_PORT; stop it first to change ports"
    log "already running (pid $PID) on $HOST:$port"
    return 0
  fi
  rm -f "$PID_FILE" # stale: its process is gone or is not our broker

  local p users who
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if users="$(port_taken "$p")"; then
      # ss shows the owner as users:(("python3",pid=5981,fd=3)) when it may.
      who="$(sed -n 's/.*users:(("\([^"]*\)",pid=\([0-9]*\).*/\1 (pid \2)/p' <<<"$users" | head -n 1)"
      die "port $p is already in use by ${who:-another process}; find it with: ss -ltnp 'sport = :$p' and stop it, or choose other ports with KAFKA_PORT / KAFKA_CONTROLLER_PORT"
    fi
  done

  install_jars
  ensure_tools java
  write_config
  format_storage_once

  # Remember where server.log ends, so that only this run's lines count when
  # waiting for "Kafka Server started" (the file is appended across runs).
  local offset=0
  [[ -f "$SERVER_LOG" ]] && offset="$(stat -c %s "$SERVER_LOG")"
  : >"$STDOUT_LOG"

  log "starting broker on $HOST:$KAFKA_PORT…"
  # setsid: own session, so the broker survives the shell/CI step that started
  # it and does not receive that terminal's Ctrl-C or hangup. The inner bash
  # writes its own pid and then execs java, so the pid file holds the JVM's pid
  # whether or not setsid had to fork.
  # shellcheck disable=SC2016 # $$/$1/$@ belong to the inner bash
  setsid nohup bash -c 'echo $$ >"$1"; shift; exec "$@"' kafka-launcher "$PID_FILE" \
    java "-Xms$HEAP" "-Xmx$HEAP" -XX:+UseG1GC \
    -Dlog4j.configuration="file:$HERE/log4j.properties" \
    -Dkafka.logs.dir="$KDATA" \
    -cp "$LIBS/*" kafka.Kafka "$CONFIG" \
    </dev/null >"$STDOUT_LOG" 2>&1 9>&- &

  # Wait (up to 10 s) for the launcher to write the pid file and exec java.
  local i pid_in_file
  for ((i = 0; i < 50; i++)); do
    broker_running && break
    pid_in_file="$(tr -dc '0-9' 2>/dev/null <"$PID_FILE" || true)"
    [[ -n "$pid_in_file" ]] && process_gone "$pid_in_file" && break # java already exited
    sleep 0.2
  done
  if ! broker_running; then
    show_start_logs "$offset"
    rm -f "$PID_FILE"
    die "the broker exited right after launch: $(start_failure_reason "$offset") (full logs: $STDOUT_LOG, $SERVER_LOG)"
  fi
  LAUNCHED_OFFSET=$offset
}

# Waits until the selected node, launched from server.log byte OFFSET, answers.
wait_node_ready() { # OFFSET
  local offset=$1
  broker_running || true
  local deadline=$((SECONDS + READY_TIMEOUT))
  # Ready = the client port accepts connections AND this run's log says the
  # server finished starting (the port alone opens a little before that).
  until port_answers "$KAFKA_PORT" && started_in_log "$offset"; do
    if ! broker_running; then
      show_start_logs "$offset"
      rm -f "$PID_FILE"
      die "the broker exited during startup: $(start_failure_reason "$offset") (full logs: $SERVER_LOG, $STDOUT_LOG)"
    fi
    if ((SECONDS >= deadline)); then
      show_start_logs "$offset"
      die "the broker (pid $PID) did not become ready on $HOST:$KAFKA_PORT within $READY_TIMEOUT s; see $SERVER_LOG, or run 'infra/kafka/kafka.sh stop'"
    fi
    sleep 0.5
  done
}

do_start() {
  take_lock
  local t0=$EPOCHREALTIME n
  local -a offsets=()
  # Every node first, then the wait: a node of a cluster is ready only once a quorum of
  # controllers runs.
  for ((n = 1; n <= KAFKA_NODES; n++)); do
    select_node "$n"
    launch_node
    offsets[n]=$LAUNCHED_OFFSET
  done
  for ((n = 1; n <= KAFKA_NODES; n++)); do
    [[ -n "${offsets[n]}" ]] || continue
    select_node "$n"
    wait_node_ready "${offsets[n]}"
    log "started (pid $PID) on $HOST:$KAFKA_PORT in $(elapsed_since "$t0") s"
  done
}

# ------------------------------------------------------------------ stop

do_stop() { # [NODE]
  take_lock
  local n
  if [[ -n "${1:-}" ]]; then
    [[ "$1" =~ ^[1-9]$ ]] && (($1 <= KAFKA_NODES)) || die "no node '$1': KAFKA_NODES=$KAFKA_NODES, so NODE is between 1 and $KAFKA_NODES"
    select_node "$1"
    stop_node
    return 0
  fi
  # Every node is told to stop first: the last controller of a cluster stopped one by one would
  # wait for a quorum that is gone, and only stop at the SIGKILL.
  for ((n = 1; n <= KAFKA_NODES && KAFKA_NODES > 1; n++)); do
    select_node "$n"
    broker_running && kill -TERM "$PID" 2>/dev/null || true
  done
  for ((n = KAFKA_NODES; n >= 1; n--)); do
    select_node "$n"
    stop_node
  done
}

stop_node() {
  if ! broker_running; then
    if [[ -f "$PID_FILE" ]]; then
      rm -f "$PID_FILE"
      log "not running (removed stale pid file)"
    else
      log "not running"
    fi
    return 0
  fi
  local pid=$PID i
  log "stopping broker (pid $pid)…"
  # Kafka shuts down cleanly on SIGTERM (flushes logs, closes the KRaft log).
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT * 5; i++)); do
    process_gone "$pid" && break
    sleep 0.2
  done
  if ! process_gone "$pid"; then
    log "broker still alive after $STOP_TIMEOUT s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      process_gone "$pid" && break
      sleep 0.1
    done
    process_gone "$pid" || die "could not kill broker pid $pid; check it with: ps -fp $pid"
  fi
  rm -f "$PID_FILE"
  log "stopped"
}

# ---------------------------------------------------------------- status

do_status() {
  local n failed=0
  for ((n = 1; n <= KAFKA_NODES; n++)); do
    select_node "$n"
    node_status || failed=1
  done
  exit "$failed"
}

node_status() {
  local port
  port="$(running_port)"
  if broker_running; then
    if port_answers "$port"; then
      echo "kafka: running (pid $PID) on $HOST:$port"
      return 0
    fi
    echo "kafka: process $PID is running but not answering on $HOST:$port (starting up or hung; see $SERVER_LOG)"
    return 1
  fi
  echo "kafka: not running"
  return 1
}

# ---------------------------------------------------------------- topics

do_topics() {
  local n
  for ((n = 1; n <= KAFKA_NODES; n++)); do
    select_node "$n"
    broker_running && break
  done
  broker_running || die "the broker is not running; start it with: infra/kafka/kafka.sh start"
  jars_up_to_date || die "the Kafka jars are missing or outdated; run: infra/kafka/kafka.sh install"
  ensure_tools java
  local args=("$@") a action=""
  for a in "${args[@]}"; do
    case $a in --list | --describe | --create | --delete | --alter) action=$a ;; esac
  done
  [[ -n "$action" ]] || args=(--describe "${args[@]}")
  run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$HOST:$(running_port)" "${args[@]}" ||
    die "TopicCommand ${args[*]} failed (see the messages above)"
}

usage() {
  sed -n '2,/^set -/{/^set -/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
}

cmd="${1:-}"
[[ $# -gt 0 ]] && shift
case "$cmd" in
  install)
    take_lock
    if jars_up_to_date; then
      log "jars up to date in $LIBS"
    else
      install_jars
    fi
    ;;
  start) do_start ;;
  stop) do_stop "$@" ;;
  status) do_status ;;
  topics) do_topics "$@" ;;
  -h | --help | help) usage ;;
  *)
    usage
    die "unknown command '${cmd}'; use one of: install, start, stop, status, topics"
    ;;
esac
