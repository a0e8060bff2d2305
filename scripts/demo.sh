#!/usr/bin/env bash
# A failover, end to end, on this machine: 1 Redis master + 2 replicas + 3 of our
# sentinels on loopback ports in a temp dir. Kills the master with SIGKILL, shows the
# events, the new master, and the old master rejoining as a replica. Cleans up on exit.
#
# Usage: scripts/demo.sh
# Environment:
#   SENTINEL_BIN=redis-sentinel   run Debian's redis-sentinel instead of ours (validates
#                                 the script's mechanics; redis-cli replaces sentinel-cli)
#   SENTINEL_CLI=path             our CLI (default target/release/sentinel-cli)
#   DEMO_PORT_BASE=17000          first Redis port tried (sentinels from DEMO_PORT_BASE+10000)
#   DEMO_KEEP=1                   keep the temp dir (configs and logs) after exit
#   DEMO_SKIP_BUILD=1             don't run `cargo build --release`
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
NAME=mymaster
T0=$(date +%s.%N)

elapsed() { awk -v t0="$T0" -v t1="$(date +%s.%N)" 'BEGIN { printf "%6.1fs", t1 - t0 }'; }
if [ -t 1 ]; then B=$'\033[1m' N=$'\033[0m'; else B='' N=''; fi
section() { printf '\n%s== [%s] %s%s\n' "$B" "$(elapsed)" "$*" "$N"; }
info() { printf '   [%s] %s\n' "$(elapsed)" "$*"; }
die() { printf '\nERROR: %s\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# ------------------------------------------------------------------ prerequisites ----
section "1. Prerequisites"
SENTINEL_BIN=${SENTINEL_BIN:-$ROOT/target/release/sentinel}
OURS=1
case "$(basename "$SENTINEL_BIN")" in redis-sentinel*) OURS=0 ;; esac
need_pkgs=()
command -v redis-server >/dev/null || need_pkgs+=(redis-server)
command -v redis-cli >/dev/null || need_pkgs+=(redis-tools)
if [ "$OURS" = 0 ] && ! command -v redis-sentinel >/dev/null; then need_pkgs+=(redis-sentinel); fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
    info "installing ${need_pkgs[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi
info "$(redis-server --version | cut -d' ' -f1-3)"

if [ "$OURS" = 1 ]; then
    if [ -z "${DEMO_SKIP_BUILD:-}" ]; then
        section "2. Build (cargo build --release)"
        cargo build --release --bins
    fi
    CLI=${SENTINEL_CLI:-$ROOT/target/release/sentinel-cli}
    [ -x "$SENTINEL_BIN" ] || die "$SENTINEL_BIN not found (cargo build --release failed?)"
    [ -x "$CLI" ] || die "$CLI not found (cargo build --release failed?)"
    info "sentinel: $SENTINEL_BIN"
else
    SENTINEL_BIN=$(command -v "$SENTINEL_BIN")
    info "SENTINEL_BIN override: $SENTINEL_BIN (redis-cli stands in for sentinel-cli)"
fi

# --------------------------------------------------------------------- topology -----
WORK=$(mktemp -d -t sentinel-demo-XXXXXX)
PIDS=()
EVENTS_PID=""
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [ -n "$EVENTS_PID" ] && kill "$EVENTS_PID" 2>/dev/null || true
    [ -n "${RAW_PID:-}" ] && kill "$RAW_PID" 2>/dev/null || true
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    if [ -n "${DEMO_KEEP:-}" ]; then
        echo "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
NEXT_PORT=${DEMO_PORT_BASE:-17000}
pick_port() {
    while port_in_use "$NEXT_PORT"; do NEXT_PORT=$((NEXT_PORT + 1)); done
    PICKED=$NEXT_PORT
    NEXT_PORT=$((NEXT_PORT + 1))
}
wait_port() { # port name
    for _ in $(seq 100); do
        port_in_use "$1" && return 0
        sleep 0.1
    done
    die "$2 did not start listening on $1; log: $(tail -n 20 "$WORK/$2.log" 2>/dev/null)"
}

rcli() { redis-cli -h 127.0.0.1 -p "$@"; }
field() { # port key → value from `SENTINEL MASTER mymaster`
    rcli "$1" SENTINEL MASTER "$NAME" 2>/dev/null | awk -v k="$2" 'prev == k { print; exit } { prev = $0 }'
}
master_addr() { rcli "$1" SENTINEL GET-MASTER-ADDR-BY-NAME "$NAME" 2>/dev/null | paste -sd' '; }
role_of() { rcli "$1" INFO replication 2>/dev/null | tr -d '\r' | awk -F: '$1=="role"{r=$2} $1=="master_port"{p=$2} END{print r (p ? " of " p : "")}'; }

start_redis() { # name port [master_port]
    local name=$1 port=$2 dir="$WORK/$1"
    mkdir -p "$dir"
    {
        echo "port $port"; echo "bind 127.0.0.1"; echo "save \"\""; echo "appendonly no"
        echo "dir $dir"; echo "daemonize no"; echo "logfile $WORK/$name.log"
        echo "repl-diskless-sync-delay 0"  # a re-pointed replica's full sync starts at once
        [ -n "${3:-}" ] && echo "replicaof 127.0.0.1 $3"
    } >"$dir/redis.conf"
    redis-server "$dir/redis.conf" >>"$WORK/$name.out" 2>&1 &
    PIDS+=($!)
    disown $!  # no "Killed" job notices; cleanup kills by pid
    eval "PID_$name=$!"
    wait_port "$port" "$name"
}

start_sentinel() { # name port
    local name=$1 port=$2 dir="$WORK/$1"
    mkdir -p "$dir"
    cat >"$dir/sentinel.conf" <<EOF
port $port
bind 127.0.0.1
dir $dir
logfile $WORK/$name.log
daemonize no
sentinel monitor $NAME 127.0.0.1 $M 2
sentinel down-after-milliseconds $NAME 1000
sentinel failover-timeout $NAME 10000
sentinel parallel-syncs $NAME 1
EOF
    "$SENTINEL_BIN" "$dir/sentinel.conf" >>"$WORK/$name.out" 2>&1 &
    PIDS+=($!)
    disown $!
    wait_port "$port" "$name"
}

section "3. Start Redis: 1 master + 2 replicas (in $WORK)"
pick_port; M=$PICKED
pick_port; R1=$PICKED
pick_port; R2=$PICKED
start_redis master "$M"
start_redis replica1 "$R1" "$M"
start_redis replica2 "$R2" "$M"
for p in "$M" "$R1" "$R2"; do info "redis 127.0.0.1:$p  $(role_of "$p")"; done

section "4. Start 3 sentinels ($(basename "$SENTINEL_BIN"))"
S=()
NEXT_PORT=$(( ${DEMO_PORT_BASE:-17000} + 10000 ))
for i in 1 2 3; do
    pick_port
    S+=("$PICKED")
    start_sentinel "sentinel$i" "$PICKED"
    info "sentinel$i on 127.0.0.1:$PICKED"
done

section "5. Wait for discovery (each sentinel: 2 replicas, 2 other sentinels)"
deadline=$((SECONDS + 60))
for s in "${S[@]}"; do
    until [ "$(field "$s" num-slaves)" = 2 ] && [ "$(field "$s" num-other-sentinels)" = 2 ]; do
        [ $SECONDS -lt $deadline ] || die "sentinel :$s did not discover the topology (num-slaves=$(field "$s" num-slaves), num-other-sentinels=$(field "$s" num-other-sentinels))"
        sleep 0.2
    done
    info "sentinel :$s sees num-slaves=2 num-other-sentinels=2"
done

status() { # port
    if [ "$OURS" = 1 ]; then
        local out
        if out=$("$CLI" -p "$1" status 2>&1) && [ -n "$out" ]; then
            echo "$out"
        else
            echo "WARNING: sentinel-cli status failed or printed nothing; using redis-cli" >&2
            OURS_CLI_BROKEN=1
        fi
    fi
    if [ "$OURS" = 0 ] || [ -n "${OURS_CLI_BROKEN:-}" ]; then
        echo "master $NAME at $(master_addr "$1") (config-epoch $(field "$1" config-epoch), flags $(field "$1" flags))"
        rcli "$1" SENTINEL REPLICAS "$NAME" | awk 'prev=="name"{n=$0} prev=="flags"{print "  replica " n "  flags=" $0} {prev=$0}'
        rcli "$1" SENTINEL SENTINELS "$NAME" | awk 'prev=="name"{n=$0} prev=="port"{print "  sentinel " n " port=" $0} {prev=$0}'
    fi
}

section "6. Status (sentinel :${S[0]})"
status "${S[0]}"

section "7. Watch events on sentinel :${S[0]} (in the background)"
EVENTS=$WORK/events.log          # sentinel-cli events (ours)
RAW_EVENTS=$WORK/events-raw.log  # redis-cli PSUBSCRIBE * (always; fallback and cross-check)
( redis-cli -h 127.0.0.1 -p "${S[0]}" --csv PSUBSCRIBE '*' | while IFS= read -r line; do
    case "$line" in
    '"pmessage"'*)
        rest=${line#\"pmessage\",\"*\",\"}
        chan=${rest%%\",\"*}
        msg=${rest#*\",\"}
        printf '%s %s %s\n' "$(date +%H:%M:%S.%3N)" "$chan" "${msg%\"}"
        ;;
    esac
done ) >"$RAW_EVENTS" 2>&1 &
RAW_PID=$!
if [ "$OURS" = 1 ]; then
    "$CLI" -p "${S[0]}" events >"$EVENTS" 2>&1 &
    EVENTS_PID=$!
else
    EVENTS=$RAW_EVENTS
fi
sleep 1
info "events -> $EVENTS"

section "8. SIGKILL the master (127.0.0.1:$M)"
kill -9 "$PID_master"
KILLED_AT=$(date +%s.%N)
info "master killed; waiting for +switch-master"
deadline=$((SECONDS + 90))
until grep -q -- '+switch-master' "$EVENTS" "$RAW_EVENTS"; do
    [ $SECONDS -lt $deadline ] || { cat "$RAW_EVENTS"; die "no +switch-master within 90 s"; }
    sleep 0.1
done
info "+switch-master after $(awk -v a="$KILLED_AT" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"
sleep 1
if ! grep -q -- '+switch-master' "$EVENTS"; then
    echo "WARNING: \`sentinel-cli events\` logged no +switch-master; showing redis-cli's PSUBSCRIBE instead" >&2
    EVENTS=$RAW_EVENTS
fi

section "9. Event log of sentinel :${S[0]}"
sed 's/^/   /' "$EVENTS"
if [ "$OURS" = 1 ]; then
    # The failover as the leader recorded it (SENTINEL TIMELINE): each step with its delay.
    for s in "${S[@]}"; do
        if "$CLI" -p "$s" history "$NAME" 2>/dev/null | grep -q '+promoted-slave'; then
            section "9b. Failover history on the leader, sentinel :$s (sentinel-cli history)"
            "$CLI" -p "$s" history "$NAME" | sed -n '/== incident/,$p' | sed 's/^/   /'
            break
        fi
    done
fi

section "10. New master"
NEW=$(master_addr "${S[0]}")
NEW_PORT=${NEW##* }
if [ "$OURS" = 1 ]; then
    "$CLI" -p "${S[0]}" master-addr "$NAME" || echo "WARNING: sentinel-cli master-addr failed" >&2
fi
for s in "${S[@]}"; do info "sentinel :$s says $NAME is at $(master_addr "$s") (config-epoch $(field "$s" config-epoch))"; done
for p in "$R1" "$R2"; do info "redis 127.0.0.1:$p  $(role_of "$p")"; done
info "write through the new master: SET demo ok -> $(rcli "$NEW_PORT" SET demo ok)"
echo
status "${S[0]}"

section "11. Restart the old master: it must come back as a replica of :$NEW_PORT"
start_redis master "$M"
if [ "$OURS" = 1 ]; then
    info "old master restarted: $(role_of "$M") (demoted once the peers confirm the configuration, well under a second)"
else
    info "old master restarted: $(role_of "$M") (Redis Sentinel converts it within ~10-20 s)"
fi
deadline=$((SECONDS + 60))
until [ "$(role_of "$M")" = "slave of $NEW_PORT" ]; do
    [ $SECONDS -lt $deadline ] || die "old master did not rejoin: $(role_of "$M")"
    sleep 0.5
done
info "redis 127.0.0.1:$M  $(role_of "$M")"
sleep 1
grep -- '+convert-to-slave' "$EVENTS" | sed 's/^/   /' || true
echo
status "${S[0]}"

section "Done: failover complete, old master rejoined. Cleaning up."
