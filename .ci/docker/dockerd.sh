#!/usr/bin/env bash
# Start or stop a docker daemon for CI, which runs on a bare VM where nothing
# starts dockerd for us.
#
#   dockerd.sh start   start dockerd, unless a daemon already answers
#   dockerd.sh stop    stop the daemon that `start` started, and nothing else
#
# The PID of the daemon we started is kept in $HARNESS_DOCKERD_PIDFILE so that
# `stop` never touches a daemon someone else runs. Extra daemon flags can be
# passed in $HARNESS_DOCKERD_FLAGS.
#
# Flags: none are needed on the CI VM (Debian 12, docker.io 20.10, cgroup v1,
# ext4 root): overlay2, iptables and the docker0 bridge all work, and the
# bridge is what testcontainers' published ports need. If another sandbox
# can't do overlay2 or iptables, try HARNESS_DOCKERD_FLAGS="--storage-driver=vfs"
# and/or "--iptables=false --ip6tables=false": published ports then rely on
# docker-proxy alone, which still serves 127.0.0.1. Avoid --bridge=none, which
# leaves nothing to publish ports through.
set -euo pipefail

pidfile=${HARNESS_DOCKERD_PIDFILE:-/tmp/harness-dockerd.pid}
logfile=${HARNESS_DOCKERD_LOG:-/tmp/harness-dockerd.log}
start_timeout=60
stop_timeout=60

log() { echo "dockerd.sh: $*" >&2; }

# kill -0 alone would count a not-yet-reaped zombie as running.
alive() {
    local state
    state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) && [[ -n $state && $state != Z ]]
}

# Guards against a stale pidfile whose PID now belongs to something else.
is_our_dockerd() {
    [[ ${1:-} =~ ^[0-9]+$ ]] && alive "$1" && [[ $(cat "/proc/$1/comm" 2>/dev/null) == dockerd ]]
}

start() {
    if docker info >/dev/null 2>&1; then
        log "a docker daemon is already reachable; not starting one"
        return 0
    fi
    if [[ $(id -u) -ne 0 ]]; then
        log "docker is not reachable and starting dockerd needs root"
        return 1
    fi
    if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
        log "installing docker.io"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
    fi

    # setsid: own session, so the daemon outlives the calling step and isn't
    # hit by signals aimed at its process group. A background job of a
    # non-interactive shell is not a group leader, so setsid execs in place
    # and $! is dockerd's own PID (checked below).
    # shellcheck disable=SC2086  # flags are meant to be split
    setsid dockerd ${HARNESS_DOCKERD_FLAGS:-} </dev/null >"$logfile" 2>&1 &
    local pid=$!
    echo "$pid" >"$pidfile"

    local waited=0
    until docker info >/dev/null 2>&1; do
        if ! alive "$pid"; then
            log "dockerd exited during startup; last lines of $logfile:"
            tail -n 30 "$logfile" >&2
            rm -f "$pidfile"
            return 1
        fi
        if ((waited >= start_timeout)); then
            log "dockerd not ready after ${start_timeout}s; last lines of $logfile:"
            tail -n 30 "$logfile" >&2
            stop
            return 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
    if ! is_our_dockerd "$pid"; then
        log "PID $pid is not dockerd; refusing to track it"
        rm -f "$pidfile"
        return 1
    fi
    log "dockerd running (pid $pid, log $logfile)"
}

stop() {
    if [[ ! -f $pidfile ]]; then
        log "no $pidfile; nothing of ours to stop"
        return 0
    fi
    local pid
    pid=$(cat "$pidfile")
    if ! is_our_dockerd "$pid"; then
        log "pid ${pid:-?} from $pidfile is not a running dockerd; removing stale pidfile"
        rm -f "$pidfile"
        return 0
    fi

    # SIGTERM lets dockerd stop its containers and its managed containerd.
    kill -TERM "$pid"
    local waited=0
    while alive "$pid"; do
        if ((waited >= stop_timeout)); then
            log "dockerd (pid $pid) still running after ${stop_timeout}s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 1
        waited=$((waited + 1))
    done
    rm -f "$pidfile"
    log "dockerd (pid $pid) stopped"
}

case ${1:-} in
start) start ;;
stop) stop ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
