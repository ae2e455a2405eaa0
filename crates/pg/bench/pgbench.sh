#!/usr/bin/env bash
# pgbench throughput: direct to PostgreSQL, through PgBouncer, and through Airlock's PostgreSQL
# gateway (`airlock pg`), in one run, on a throwaway cluster. Prints a markdown table with ratios.
#
# Usage (from anywhere):
#   bash crates/pg/bench/pgbench.sh
#   SKIP_AIRLOCK=1 DURATION=3 CLIENTS="1 8" bash crates/pg/bench/pgbench.sh   # quick smoke run
#
# Environment:
#   DURATION=10       seconds per pgbench run (-T)
#   CLIENTS="1 8 32"  client counts (-c; -j is min(clients, 2))
#   SCALE=10          pgbench -i scale factor
#   AIRLOCK=...       the airlock binary (default: <repo>/target/release/airlock, built if missing)
#   SKIP_AIRLOCK=1    leave out the gateway column
#   OUT=FILE          also write the report (header and table) to FILE
#   KEEP_TMP=1        keep the temp dir (logs, configs) instead of removing it
#   PGBIN=...         PostgreSQL binaries (default /usr/lib/postgresql/15/bin)
#
# The cluster runs with fsync=off (a benchmark of the proxies, not of the disk). PgBouncer runs
# in session pool mode with auth_type = trust. Every client connects over TCP to 127.0.0.1 with
# sslmode and gssencmode disabled, the same for all three targets.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../../.." && pwd)

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-"1 8 32"}
SCALE=${SCALE:-10}
SKIP_AIRLOCK=${SKIP_AIRLOCK:-0}
AIRLOCK=${AIRLOCK:-$REPO_ROOT/target/release/airlock}
KEEP_TMP=${KEEP_TMP:-0}
# A hung run (say, a statement held for approval) must not hang the benchmark.
RUN_TIMEOUT=$((DURATION * 3 + 60))

export PGSSLMODE=disable PGGSSENCMODE=disable
unset PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE PGOPTIONS || true

log() { printf '[pgbench.sh] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# PostgreSQL's server binaries and PgBouncer refuse to run as root.
as_pg() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# ---------------------------------------------------------------- temp dir and cleanup

TMP=$(mktemp -d "${TMPDIR:-/tmp}/airlock-pgbench.XXXXXX")
PG_STARTED=0
AIRLOCK_PID=
cleanup() {
    local rc=$?
    set +e
    if [[ -n $AIRLOCK_PID ]]; then
        kill "$AIRLOCK_PID" 2>/dev/null
        wait "$AIRLOCK_PID" 2>/dev/null
    fi
    if [[ -f $TMP/pgbouncer/pgbouncer.pid ]]; then
        local pid i
        pid=$(cat "$TMP/pgbouncer/pgbouncer.pid")
        kill "$pid" 2>/dev/null
        for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    if [[ $PG_STARTED -eq 1 ]]; then
        as_pg "$PGBIN/pg_ctl" -D "$TMP/pgdata" -m immediate stop >/dev/null 2>&1
    fi
    if [[ $KEEP_TMP == 1 ]]; then
        log "kept $TMP"
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [[ $(id -u) -eq 0 ]]; then chown postgres: "$TMP"; fi

# ---------------------------------------------------------------- prerequisites

for b in initdb pg_ctl postgres pgbench psql pg_isready; do
    [[ -x $PGBIN/$b ]] || die "$PGBIN/$b not found (set PGBIN)"
done
command -v python3 >/dev/null || die "python3 is needed to pick free ports"

PGBOUNCER=$(command -v pgbouncer || true)
[[ -z $PGBOUNCER && -x /usr/sbin/pgbouncer ]] && PGBOUNCER=/usr/sbin/pgbouncer
if [[ -z $PGBOUNCER ]]; then
    log "pgbouncer not found: installing it with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    # RUNLEVEL=1: the package's init script must not start a system-wide pgbouncer.
    if ! RUNLEVEL=1 apt-get install -y -q pgbouncer >"$TMP/apt.log" 2>&1; then
        apt-get update -q >>"$TMP/apt.log" 2>&1 || true
        RUNLEVEL=1 apt-get install -y -q pgbouncer >>"$TMP/apt.log" 2>&1 ||
            { cat "$TMP/apt.log" >&2; die "apt-get install pgbouncer failed"; }
    fi
    PGBOUNCER=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
    [[ -x $PGBOUNCER ]] || die "pgbouncer still not found after installing it"
fi

if [[ $SKIP_AIRLOCK != 1 ]]; then
    if [[ ! -x $AIRLOCK ]]; then
        log "$AIRLOCK not found: cargo build --release -p airlock (in $REPO_ROOT)"
        (cd "$REPO_ROOT" && cargo build --release -p airlock) || die "cargo build failed"
        AIRLOCK=$REPO_ROOT/target/release/airlock
    fi
    if ! "$AIRLOCK" pg --help >/dev/null 2>&1; then
        die "$AIRLOCK has no \`pg\` command (the gateway is not in this build): rebuild it with \`cargo build --release -p airlock\`, or run with SKIP_AIRLOCK=1"
    fi
fi

# Free TCP ports on 127.0.0.1, all picked while every socket is still bound, so they differ.
read -r PG_PORT BOUNCER_PORT AIRLOCK_PORT < <(python3 - <<'EOF'
import socket
socks = []
for _ in range(3):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
)

wait_ready() { # NAME PORT [PID]: wait until the port answers the PostgreSQL protocol
    local name=$1 port=$2 pid=${3:-} i
    for ((i = 0; i < 150; i++)); do
        "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" -d bench -t 1 && return 0
        if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
            log "error: $name exited before accepting connections"
            return 1
        fi
        sleep 0.2
    done
    log "error: $name does not accept connections on 127.0.0.1:$port after 30 s"
    return 1
}

# ---------------------------------------------------------------- PostgreSQL

log "initdb in $TMP/pgdata (port $PG_PORT)"
mkdir -p "$TMP/sock"
[[ $(id -u) -eq 0 ]] && chown postgres: "$TMP/sock"
as_pg "$PGBIN/initdb" -D "$TMP/pgdata" --auth=trust -U postgres -E UTF8 --no-instructions \
    >"$TMP/initdb.log" 2>&1 || { cat "$TMP/initdb.log" >&2; die "initdb failed"; }
cat >>"$TMP/pgdata/postgresql.conf" <<EOF

# airlock pgbench.sh
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$TMP/sock'
max_connections = 200
fsync = off
EOF
as_pg "$PGBIN/pg_ctl" -D "$TMP/pgdata" -l "$TMP/postgres.log" -w -t 60 start >/dev/null ||
    { cat "$TMP/postgres.log" >&2; die "postgres did not start"; }
PG_STARTED=1

"$PGBIN/psql" -q -X -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c 'CREATE DATABASE bench' >/dev/null
log "pgbench -i -s $SCALE bench"
"$PGBIN/pgbench" -i -q -s "$SCALE" -h 127.0.0.1 -p "$PG_PORT" -U postgres bench \
    >"$TMP/pgbench-init.log" 2>&1 || { cat "$TMP/pgbench-init.log" >&2; die "pgbench -i failed"; }

# ---------------------------------------------------------------- PgBouncer

mkdir -p "$TMP/pgbouncer"
# auth_type = trust still wants the user listed in auth_file.
echo '"postgres" ""' >"$TMP/pgbouncer/userlist.txt"
cat >"$TMP/pgbouncer/pgbouncer.ini" <<EOF
[databases]
bench = host=127.0.0.1 port=$PG_PORT dbname=bench user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $TMP/pgbouncer/userlist.txt
pool_mode = session
default_pool_size = 40
max_client_conn = 200
logfile = $TMP/pgbouncer/pgbouncer.log
pidfile = $TMP/pgbouncer/pgbouncer.pid
EOF
[[ $(id -u) -eq 0 ]] && chown -R postgres: "$TMP/pgbouncer"
log "pgbouncer on port $BOUNCER_PORT"
as_pg "$PGBOUNCER" -d "$TMP/pgbouncer/pgbouncer.ini" >"$TMP/pgbouncer/stdout.log" 2>&1 ||
    { cat "$TMP/pgbouncer/stdout.log" "$TMP/pgbouncer/pgbouncer.log" >&2 2>/dev/null; die "pgbouncer did not start"; }
wait_ready pgbouncer "$BOUNCER_PORT" ||
    { cat "$TMP/pgbouncer/pgbouncer.log" >&2; exit 1; }

# ---------------------------------------------------------------- Airlock gateway

TOKEN=
if [[ $SKIP_AIRLOCK != 1 ]]; then
    A=$TMP/airlock
    mkdir -p "$A"
    cat >"$A/airlock.toml" <<EOF
[server]
listen = ""
state = "sqlite:state.db"

[postgres]
listen = "127.0.0.1:$AIRLOCK_PORT"

[vault]
dir = "vault"
key_file = "vault.key"

[[environment]]
name = "staging"
databases = ["bench"]

[[resource]]
name = "bench"
kind = "postgres"
environment = "staging"
url = "postgres://postgres@127.0.0.1:$PG_PORT/bench"
EOF
    "$AIRLOCK" --config "$A/airlock.toml" token create --agent bench >"$A/token.out" 2>"$A/token.err" ||
        { cat "$A/token.err" >&2; die "airlock token create failed"; }
    TOKEN=$(head -n1 "$A/token.out")
    [[ -n $TOKEN ]] || die "airlock token create printed no token"
    log "airlock token ${TOKEN:0:8}…; airlock pg on port $AIRLOCK_PORT"
    "$AIRLOCK" --config "$A/airlock.toml" pg >"$A/airlock.log" 2>&1 &
    AIRLOCK_PID=$!
    wait_ready "airlock pg" "$AIRLOCK_PORT" "$AIRLOCK_PID" ||
        { tail -n 30 "$A/airlock.log" >&2; exit 1; }
    if ! PGPASSWORD=$TOKEN "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$AIRLOCK_PORT" -U bench -d bench \
        -tA -c 'SELECT 1' >"$A/smoke.log" 2>&1; then
        cat "$A/smoke.log" >&2
        tail -n 30 "$A/airlock.log" >&2
        die "a psql SELECT 1 through airlock pg failed"
    fi
fi

# ---------------------------------------------------------------- the matrix

header() {
    local cpu pgv pbv
    cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)
    pgv=$("$PGBIN/postgres" --version)
    pbv=$("$PGBOUNCER" --version 2>&1 | head -n1)
    echo "# pgbench: direct vs PgBouncer vs Airlock gateway"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- machine: $(nproc) CPUs, ${cpu:-unknown CPU}, $(uname -sr)"
    echo "- PostgreSQL: $pgv (throwaway cluster, fsync=off, max_connections=200, TCP 127.0.0.1)"
    echo "- PgBouncer: $pbv (pool_mode=session, default_pool_size=40, auth_type=trust)"
    if [[ $SKIP_AIRLOCK == 1 ]]; then
        echo "- Airlock: skipped (SKIP_AIRLOCK=1)"
    else
        echo "- Airlock: $("$AIRLOCK" --version 2>&1 | head -n1) ($AIRLOCK), git $(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
    fi
    echo "- pgbench: scale $SCALE, -T $DURATION, -n, -j min(clients, 2), sslmode=disable; client, server and proxies share the machine"
    echo
}

FAILED=0
run_pgbench() { # TARGET SCRIPT MODE CLIENTS -> prints tps, or FAIL
    local target=$1 script=$2 mode=$3 c=$4 port user out
    local -a args=(-n -T "$DURATION" -c "$c" -j $((c < 2 ? c : 2)) -M "$mode" -h 127.0.0.1 bench)
    [[ $script == select-only ]] && args=(-S "${args[@]}")
    case $target in
        direct) port=$PG_PORT user=postgres ;;
        pgbouncer) port=$BOUNCER_PORT user=postgres ;;
        airlock) port=$AIRLOCK_PORT user=bench ;;
    esac
    out=$TMP/run-$target-$script-$mode-$c.log
    if PGPASSWORD=$TOKEN timeout "$RUN_TIMEOUT" "$PGBIN/pgbench" -p "$port" -U "$user" "${args[@]}" \
        >"$out" 2>&1 && grep -q '^tps = .*without initial connection time' "$out"; then
        sed -n 's/^tps = \([0-9.]*\) (without initial connection time).*/\1/p' "$out" | head -n1
    else
        {
            log "pgbench failed: $target, $script, -M $mode, -c $c (port $port):"
            sed 's/^/    /' "$out"
            if [[ $target == airlock ]]; then
                log "last lines of the airlock log:"
                tail -n 20 "$TMP/airlock/airlock.log" | sed 's/^/    /'
            fi
        } >&2
        echo FAIL
    fi
}

ratio() { # A B -> A/B with 2 decimals, or -
    if [[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]]; then
        awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
    else
        echo -
    fi
}

fmt() { [[ $1 =~ ^[0-9.]+$ ]] && printf '%.0f' "$1" || echo "$1"; }

TARGETS=(direct pgbouncer)
[[ $SKIP_AIRLOCK == 1 ]] || TARGETS+=(airlock)

ROWS=()
for script in select-only tpc-b; do
    for mode in simple prepared; do
        for c in $CLIENTS; do
            declare -A tps=([direct]=- [pgbouncer]=- [airlock]=-)
            for target in "${TARGETS[@]}"; do
                tps[$target]=$(run_pgbench "$target" "$script" "$mode" "$c")
                [[ ${tps[$target]} == FAIL ]] && FAILED=1
                log "$script -M $mode -c $c: $target $(fmt "${tps[$target]}") tps"
            done
            ROWS+=("| $script | $mode | $c | $(fmt "${tps[direct]}") | $(fmt "${tps[pgbouncer]}") | $(fmt "${tps[airlock]}") | $(ratio "${tps[airlock]}" "${tps[direct]}") | $(ratio "${tps[airlock]}" "${tps[pgbouncer]}") |")
            unset tps
        done
    done
done

{
    header
    echo "| script | mode | clients | direct tps | pgbouncer tps | airlock tps | airlock/direct | airlock/pgbouncer |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    printf '%s\n' "${ROWS[@]}"
} | tee "${OUT:-/dev/null}"

if [[ $FAILED -ne 0 ]]; then
    log "some pgbench runs failed (FAIL in the table; their output is above)"
    exit 1
fi
