#!/usr/bin/env bash
# Lambdamart local PostgreSQL: uses the machine's Debian PostgreSQL cluster
# (pg_lsclusters / pg_ctlcluster), tunes it for bulk loads and makes sure the
# role and databases the TypeScript code expects exist:
#   postgres://lambdamart:lambdamart@127.0.0.1:5432/lambdamart_realtime
#   postgres://lambdamart:lambdamart@127.0.0.1:5432/lambdamart_warehouse
# The role has CREATEDB because the tests create/drop lambdamart_test_* databases.
#
# Usage: infra/postgres/postgres.sh COMMAND
#   start    install PostgreSQL if missing, start the cluster if it is down,
#            create the role and databases; safe to run again
#   stop     stop the cluster only if `start` started it (marker file)
#   status   one line; exit 0 when the server answers and the databases exist
#
# Environment:
#   LAMBDAMART_DATA_DIR     runtime data (default: <repo>/data); the marker lives in <data>/postgres
#   PGPORT                  wanted port (default 5432); when the cluster is configured for another
#                           port, that port is used and printed
#   LAMBDAMART_PG_CLUSTER   VERSION/NAME of the cluster to use (default: the highest-version
#                           cluster named main, else the highest-version cluster)
#   LAMBDAMART_PG_CREATE_CLUSTER  1: `start` creates LAMBDAMART_PG_CLUSTER when it does not exist
#                           (pg_createcluster on PGPORT, data in <data>/postgres/<NAME>): a second,
#                           private server beside the machine's, e.g. for the fault suite, which
#                           restarts it. Unset: a missing LAMBDAMART_PG_CLUSTER is an error.
#
# start and stop need root (pg_ctlcluster, runuser, /etc/postgresql); status does not.
set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

APP_ROLE=lambdamart
APP_PASSWORD=lambdamart
DATABASES=(lambdamart_realtime lambdamart_warehouse)
WANT_PORT="${PGPORT:-5432}"
HOST=127.0.0.1
READY_TIMEOUT=60

log() { printf 'postgres: %s\n' "$*" >&2; }
die() {
  printf 'postgres: error: %s\n' "$*" >&2
  exit 1
}
on_error() { # EXIT_CODE LINE COMMAND
  printf 'postgres: error: unexpected failure (exit %s) at %s:%s running: %s\n' "$1" "${BASH_SOURCE[0]}" "$2" "$3" >&2
}
# Anything that fails without an explicit check still ends with one readable line.
trap 'on_error $? $LINENO "$BASH_COMMAND"' ERR

# Seconds (one decimal) since START, a value of $EPOCHREALTIME.
elapsed_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# Print the last lines of a log file, indented, after a one-line error.
show_tail() { # FILE [LINES]
  local file=$1 lines=${2:-20}
  [[ -r "$file" && -s "$file" ]] || return 0
  printf '  --- last %s lines of %s ---\n' "$lines" "$file" >&2
  tail -n "$lines" "$file" | sed 's/^/  /' >&2
}

DATA_DIR="${LAMBDAMART_DATA_DIR:-$ROOT/data}"
mkdir -p "$DATA_DIR" 2>/dev/null ||
  die "cannot create LAMBDAMART_DATA_DIR $DATA_DIR; fix its permissions or set LAMBDAMART_DATA_DIR to a writable path"
DATA_DIR="$(cd "$DATA_DIR" && pwd)"
PG_DATA="$DATA_DIR/postgres"
# Holds "<version> <name>" of the cluster that `start` brought up, so `stop`
# never stops a server somebody else started.
MARKER="$PG_DATA/started-by-lambdamart"

[[ "$WANT_PORT" =~ ^[0-9]+$ ]] || die "invalid PGPORT '$WANT_PORT'; use a port number such as 5432"

# Serialise start/stop so that two callers cannot race on CREATE DATABASE or
# start/stop the cluster under each other. fd 9 is closed for pg_ctlcluster,
# otherwise the postmaster would inherit it and hold the lock forever.
take_lock() {
  mkdir -p "$PG_DATA"
  exec 9>"$PG_DATA/postgres.lock"
  flock -w 120 9 || die "another postgres.sh start/stop still holds $PG_DATA/postgres.lock after 120 s; wait for it or kill it"
}

require_root() { # WHAT
  [[ $EUID -eq 0 ]] ||
    die "'$1' needs root (it runs pg_ctlcluster/runuser and writes /etc/postgresql); run: sudo $0 $1"
}

# ------------------------------------------------------------ installation

server_installed() {
  command -v pg_lsclusters >/dev/null 2>&1 && compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null
}

INSTALLED_NOW=0
ensure_installed() {
  server_installed && return 0
  if [[ $EUID -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    die "no PostgreSQL server is installed; install it with: sudo apt-get install -y postgresql"
  fi
  mkdir -p "$PG_DATA"
  local apt_log="$PG_DATA/apt-install.log"
  log "no PostgreSQL server installed; installing the Debian package postgresql…"
  if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql; } >"$apt_log" 2>&1; then
    show_tail "$apt_log" 10
    die "apt-get could not install postgresql (log: $apt_log); install it by hand: sudo apt-get install -y postgresql"
  fi
  hash -r
  server_installed || die "postgresql was installed but no server binary was found under /usr/lib/postgresql; check $apt_log"
  INSTALLED_NOW=1
}

# ------------------------------------------------------------ cluster choice

# Sets PG_VER PG_NAME PG_PORT PG_STATUS PG_LOGFILE for the chosen cluster.
# Returns 1 when there is no cluster at all.
select_cluster() {
  local lines chosen="" want="${LAMBDAMART_PG_CLUSTER:-}"
  # pg_lsclusters -h: "Ver Cluster Port Status Owner Datadir Logfile", no header.
  lines="$(pg_lsclusters -h 2>/dev/null | sort -k1,1Vr || true)"
  [[ -n "$lines" ]] || return 1
  if [[ -n "$want" ]]; then
    chosen="$(awk -v v="${want%%/*}" -v n="${want#*/}" '$1 == v && $2 == n' <<<"$lines" | head -n 1)"
    [[ -n "$chosen" ]] ||
      die "LAMBDAMART_PG_CLUSTER=$want does not exist; pg_lsclusters lists: $(awk '{printf "%s/%s ", $1, $2}' <<<"$lines")"
  else
    chosen="$(awk '$2 == "main"' <<<"$lines" | head -n 1)"
    [[ -n "$chosen" ]] || chosen="$(head -n 1 <<<"$lines")"
  fi
  read -r PG_VER PG_NAME PG_PORT PG_STATUS _ _ PG_LOGFILE <<<"$chosen"
  PG_CONF_DIR="/etc/postgresql/$PG_VER/$PG_NAME"
}

# Re-read the chosen cluster's line (status changes after start/stop).
refresh_cluster() {
  local line
  line="$(pg_lsclusters -h "$PG_VER" "$PG_NAME" 2>/dev/null || true)"
  [[ -n "$line" ]] || die "cluster $PG_VER/$PG_NAME disappeared from pg_lsclusters"
  read -r _ _ PG_PORT PG_STATUS _ _ PG_LOGFILE <<<"$line"
}

# LAMBDAMART_PG_CREATE_CLUSTER=1 and LAMBDAMART_PG_CLUSTER names a cluster that does not exist yet.
want_new_cluster() {
  local want="${LAMBDAMART_PG_CLUSTER:-}"
  [[ "${LAMBDAMART_PG_CREATE_CLUSTER:-}" == 1 && -n "$want" ]] || return 1
  [[ "$want" =~ ^[0-9]+/[A-Za-z0-9_-]+$ ]] || die "LAMBDAMART_PG_CLUSTER=$want is not VERSION/NAME (e.g. 15/reliability)"
  local line datadir
  line="$(pg_lsclusters -h "${want%%/*}" "${want#*/}" 2>/dev/null || true)"
  [[ -n "$line" ]] || return 0
  # Ours, but its data directory was deleted (data/ wiped): drop the leftover and make it again.
  read -r _ _ _ _ _ datadir _ <<<"$line"
  if [[ "$datadir" == "$PG_DATA/"* && ! -d "$datadir" ]]; then
    log "cluster $want has lost its data directory $datadir; dropping it to create it again"
    pg_dropcluster --stop "${want%%/*}" "${want#*/}" >/dev/null 2>&1 || die "pg_dropcluster ${want%%/*} ${want#*/} failed"
    return 0
  fi
  return 1
}

ensure_cluster() {
  if want_new_cluster; then
    local nver="${LAMBDAMART_PG_CLUSTER%%/*}" nname="${LAMBDAMART_PG_CLUSTER#*/}"
    [[ -x "/usr/lib/postgresql/$nver/bin/postgres" ]] || die "LAMBDAMART_PG_CLUSTER=$LAMBDAMART_PG_CLUSTER: PostgreSQL $nver is not installed"
    mkdir -p "$PG_DATA"
    log "creating cluster $nver/$nname on port $WANT_PORT (data in $PG_DATA/$nname)…"
    if ! pg_createcluster "$nver" "$nname" --port "$WANT_PORT" --datadir "$PG_DATA/$nname" >"$PG_DATA/createcluster.log" 2>&1; then
      show_tail "$PG_DATA/createcluster.log" 10
      die "pg_createcluster $nver $nname failed (log: $PG_DATA/createcluster.log)"
    fi
  fi
  select_cluster && return 0
  local ver
  ver="$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/postgres' | awk -F/ '{print $5}' | sort -Vr | head -n 1)"
  log "no PostgreSQL cluster exists; creating $ver/main with pg_createcluster…"
  mkdir -p "$PG_DATA"
  if ! pg_createcluster "$ver" main >"$PG_DATA/createcluster.log" 2>&1; then
    show_tail "$PG_DATA/createcluster.log" 10
    die "pg_createcluster $ver main failed (log: $PG_DATA/createcluster.log)"
  fi
  select_cluster || die "pg_createcluster $ver main succeeded but pg_lsclusters shows no cluster"
}

is_online() { [[ "$PG_STATUS" == online* ]]; }

we_started_it() {
  [[ -f "$MARKER" && "$(cat "$MARKER")" == "$PG_VER $PG_NAME" ]]
}

# ------------------------------------------------------------ SQL helpers

# psql as the postgres superuser over the Unix socket (peer authentication).
# cd / first: postgres usually cannot read the caller's working directory.
psql_admin() { # PSQL_ARGS...
  (cd / && PGOPTIONS='-c client_min_messages=warning' runuser -u postgres -- \
    psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres "$@")
}

# Run one SQL statement as superuser; its output (tuples only) goes to SQL_OUT.
# On failure: one line with WHAT and the server's message. (A global instead of
# stdout, so that die runs in this shell and not in a $(...) subshell.)
SQL_OUT=""
admin_sql() { # WHAT SQL
  if ! SQL_OUT="$(psql_admin -tA -c "$2" 2>&1)"; then
    die "$1 failed: $(grep -m 1 -E 'ERROR|FATAL|error' <<<"$SQL_OUT" || head -n 1 <<<"$SQL_OUT")"
  fi
}

# psql as the application role over TCP, exactly like the TypeScript code.
psql_app() { # DB PSQL_ARGS...
  local db=$1
  shift
  PGPASSWORD="$APP_PASSWORD" PGCONNECT_TIMEOUT=5 psql -X -q -v ON_ERROR_STOP=1 \
    -h "$HOST" -p "$PG_PORT" -U "$APP_ROLE" -d "$db" "$@"
}

# ------------------------------------------------------------ tuning

# Values for a 2-core, 24 GiB dev box doing bulk loads. Everything except
# shared_buffers, max_connections and listen_addresses applies on reload.
tuning_conf() {
  cat <<'EOF'
# Written by infra/postgres/postgres.sh (Lambdamart) on every start; edit the
# script, not this file. Sized for a 2-core, 24 GiB dev box doing bulk loads.
shared_buffers = 1GB
work_mem = 64MB
maintenance_work_mem = 512MB
max_wal_size = 4GB
checkpoint_timeout = 15min
max_connections = 200
wal_compression = on
listen_addresses = '127.0.0.1'
EOF
}

# Writes conf.d/lambdamart.conf; returns 0 when the file changed.
write_tuning() {
  local main_conf="$PG_CONF_DIR/postgresql.conf" dropin="$PG_CONF_DIR/conf.d/lambdamart.conf"
  if [[ ! -f "$main_conf" ]] || ! grep -Eq "^[[:space:]]*include_dir[[:space:]]*=?[[:space:]]*'?conf\.d'?" "$main_conf"; then
    log "note: $main_conf has no include_dir 'conf.d'; skipping the tuning drop-in"
    return 1
  fi
  if [[ -f "$dropin" ]] && [[ "$(cat "$dropin")" == "$(tuning_conf)" ]]; then
    return 1
  fi
  mkdir -p "$PG_CONF_DIR/conf.d"
  tuning_conf >"$dropin.tmp"
  chown --reference="$main_conf" "$dropin.tmp"
  chmod 644 "$dropin.tmp"
  mv "$dropin.tmp" "$dropin"
  log "wrote tuning settings to $dropin"
  return 0
}

# ------------------------------------------------------------ start / wait

# The last FATAL/PANIC/ERROR line of the server log, without its timestamp.
server_log_reason() {
  [[ -r "$PG_LOGFILE" ]] || return 0
  tail -n 40 "$PG_LOGFILE" | grep -E '(FATAL|PANIC|ERROR): ' | tail -n 1 |
    sed -E 's/^.*(FATAL|PANIC|ERROR): +/\1: /' | cut -c1-300 || true
}

# Run pg_ctlcluster ACTION; on failure one line plus the server log. Output
# goes to a file, not $(...): a started postmaster could keep a pipe open.
ctl() { # ACTION
  local out_file="$PG_DATA/pg_ctlcluster.log"
  if ! pg_ctlcluster "$PG_VER" "$PG_NAME" "$1" >"$out_file" 2>&1 9>&-; then
    show_tail "$PG_LOGFILE"
    local reason
    reason="$(server_log_reason)"
    die "pg_ctlcluster $PG_VER $PG_NAME $1 failed: ${reason:-$(head -n 1 "$out_file")} (server log: $PG_LOGFILE)"
  fi
}

wait_ready() {
  local deadline=$((SECONDS + READY_TIMEOUT))
  until pg_isready -q -h "$HOST" -p "$PG_PORT" -t 2; do
    if ((SECONDS >= deadline)); then
      show_tail "$PG_LOGFILE"
      local reason
      reason="$(server_log_reason)"
      die "PostgreSQL $PG_VER/$PG_NAME does not accept connections on $HOST:$PG_PORT after $READY_TIMEOUT s${reason:+ ($reason)}; see the server log $PG_LOGFILE"
    fi
    sleep 0.5
  done
}

# Make sure pg_hba.conf lets the role log in over TCP from 127.0.0.1 with a
# password. Debian's default already has the line; only add it when missing.
ensure_hba() {
  local hba
  admin_sql "reading hba_file" 'SHOW hba_file'
  hba=$SQL_OUT
  if grep -Eq '^[[:space:]]*host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+scram-sha-256([[:space:]]|$)' "$hba"; then
    return 0
  fi
  log "adding 'host all all 127.0.0.1/32 scram-sha-256' to $hba and reloading"
  printf '\n# Added by infra/postgres/postgres.sh (Lambdamart): password logins from 127.0.0.1.\nhost    all             all             127.0.0.1/32            scram-sha-256\n' >>"$hba"
  ctl reload
  sleep 1 # the reload is asynchronous
}

# Create the role and the databases when missing. (CREATE DATABASE cannot run
# inside a DO block, so everything is checked first and created one by one.)
ensure_role_and_databases() {
  admin_sql "looking up role $APP_ROLE" "SELECT rolcanlogin AND rolcreatedb FROM pg_roles WHERE rolname = '$APP_ROLE'"
  case $SQL_OUT in
    "")
      admin_sql "creating role $APP_ROLE" "CREATE ROLE $APP_ROLE LOGIN CREATEDB PASSWORD '$APP_PASSWORD'"
      log "created role $APP_ROLE"
      ;;
    f)
      admin_sql "granting LOGIN CREATEDB to $APP_ROLE" "ALTER ROLE $APP_ROLE LOGIN CREATEDB"
      log "granted LOGIN CREATEDB to role $APP_ROLE"
      ;;
  esac

  local db owner
  for db in "${DATABASES[@]}"; do
    admin_sql "looking up database $db" "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '$db'"
    owner=$SQL_OUT
    if [[ -z "$owner" ]]; then
      # template0 + UTF8 so the encoding does not depend on how template1 was made.
      admin_sql "creating database $db" "CREATE DATABASE $db OWNER $APP_ROLE ENCODING 'UTF8' TEMPLATE template0"
      log "created database $db"
    elif [[ "$owner" != "$APP_ROLE" ]]; then
      admin_sql "changing the owner of $db" "ALTER DATABASE $db OWNER TO $APP_ROLE"
      log "database $db is now owned by $APP_ROLE (was $owner)"
    fi
  done
}

# Log in exactly as the application does. If the password is wrong (role made
# by hand, or an old md5 hash), reset it once and try again.
verify_app_login() {
  local err
  if err="$(psql_app "${DATABASES[0]}" -tA -c 'SELECT 1' 2>&1 >/dev/null)"; then
    return 0
  fi
  if [[ "$err" == *"password authentication failed"* ]]; then
    log "resetting the password of role $APP_ROLE"
    admin_sql "resetting the password of $APP_ROLE" "ALTER ROLE $APP_ROLE PASSWORD '$APP_PASSWORD'"
    err="$(psql_app "${DATABASES[0]}" -tA -c 'SELECT 1' 2>&1 >/dev/null)" && return 0
  fi
  err="$(head -n 1 <<<"$err")"
  err="${err#psql: }"
  die "cannot log in as $APP_ROLE on $HOST:$PG_PORT: ${err#error: } (check ${PG_CONF_DIR}/pg_hba.conf)"
}

do_start() {
  require_root start
  take_lock
  ensure_installed
  ensure_cluster
  local t0=$EPOCHREALTIME state
  [[ "$PG_PORT" == "$WANT_PORT" ]] ||
    log "note: cluster $PG_VER/$PG_NAME is configured for port $PG_PORT, not $WANT_PORT; using $PG_PORT"

  # apt-get install starts the new cluster itself; it is still ours to stop.
  if ((INSTALLED_NOW)) && is_online; then
    echo "$PG_VER $PG_NAME" >"$MARKER"
  fi

  local tuning_changed=0
  write_tuning && tuning_changed=1

  if is_online; then
    state="already running"
    # Reload applies most settings at once; pending_restart names the rest
    # (also left over from an earlier run that changed the drop-in).
    if ((tuning_changed)); then
      ctl reload
      sleep 1 # the reload is asynchronous
    fi
    admin_sql "checking pending_restart" "SELECT string_agg(name, ', ' ORDER BY name) FROM pg_settings WHERE pending_restart"
    if [[ -n "$SQL_OUT" ]]; then
      if we_started_it; then
        log "restarting $PG_VER/$PG_NAME to apply $SQL_OUT…"
        ctl restart
        state="restarted"
      else
        log "note: restart PostgreSQL to apply $SQL_OUT (it was not started by lambdamart, so it is left as is): pg_ctlcluster $PG_VER $PG_NAME restart"
      fi
    fi
  else
    log "starting $PG_VER/$PG_NAME…"
    ctl start
    echo "$PG_VER $PG_NAME" >"$MARKER"
    state="started"
  fi
  refresh_cluster
  wait_ready
  ensure_hba
  ensure_role_and_databases
  verify_app_login
  log "$state ($PG_VER/$PG_NAME) on $HOST:$PG_PORT in $(elapsed_since "$t0") s; databases: ${DATABASES[*]}"
}

# ------------------------------------------------------------ stop

do_stop() {
  if ! server_installed; then
    log "PostgreSQL is not installed; nothing to stop"
    return 0
  fi
  local mver="" mname=""
  [[ -f "$MARKER" ]] && read -r mver mname <"$MARKER"
  if [[ -z "$mver" ]]; then
    if select_cluster && is_online; then
      log "leaving $PG_VER/$PG_NAME running: it was not started by lambdamart"
    else
      log "not running"
    fi
    return 0
  fi
  # Act on the cluster named in the marker, not on whatever select_cluster picks.
  PG_VER=$mver PG_NAME=$mname
  local line
  line="$(pg_lsclusters -h "$PG_VER" "$PG_NAME" 2>/dev/null || true)"
  if [[ -z "$line" ]]; then
    rm -f "$MARKER"
    log "cluster $PG_VER/$PG_NAME no longer exists; removed the marker"
    return 0
  fi
  read -r _ _ PG_PORT PG_STATUS _ _ PG_LOGFILE <<<"$line"
  if ! is_online; then
    rm -f "$MARKER"
    log "not running"
    return 0
  fi
  require_root stop
  take_lock
  log "stopping $PG_VER/$PG_NAME…"
  ctl stop
  rm -f "$MARKER"
  log "stopped"
}

# ------------------------------------------------------------ status

do_status() {
  if ! server_installed; then
    echo "postgres: not installed (run: infra/postgres/postgres.sh start)"
    exit 1
  fi
  if ! select_cluster; then
    echo "postgres: no cluster exists (run: infra/postgres/postgres.sh start)"
    exit 1
  fi
  local where="($PG_VER/$PG_NAME) on $HOST:$PG_PORT"
  if ! is_online; then
    echo "postgres: not running ($PG_VER/$PG_NAME)"
    exit 1
  fi
  if ! pg_isready -q -h "$HOST" -p "$PG_PORT" -t 3; then
    echo "postgres: $PG_VER/$PG_NAME is online but not accepting connections on $HOST:$PG_PORT"
    exit 1
  fi
  local list missing err
  list="$(printf "'%s'," "${DATABASES[@]}")"
  if ! missing="$(psql_app postgres -tA -c "SELECT string_agg(d, ' ') FROM unnest(ARRAY[${list%,}]) AS d WHERE d NOT IN (SELECT datname FROM pg_database)" 2>&1)"; then
    err="$(head -n 1 <<<"$missing")"
    err="${err#psql: }"
    err="${err#error: }"
    echo "postgres: running $where but login as $APP_ROLE fails: $err (run: infra/postgres/postgres.sh start)"
    exit 1
  fi
  if [[ -n "$missing" ]]; then
    echo "postgres: running $where but databases missing: $missing (run: infra/postgres/postgres.sh start)"
    exit 1
  fi
  echo "postgres: running $where, databases ok"
  exit 0
}

usage() {
  sed -n '2,/^set -/{/^set -/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
}

case "${1:-}" in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  -h | --help | help) usage ;;
  *)
    usage
    die "unknown command '${1:-}'; use one of: start, stop, status"
    ;;
esac
