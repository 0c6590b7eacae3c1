#!/usr/bin/env bash
# Ensure a local Docker engine is running (Debian docker.io, dockerd as root).
#
#   scripts/docker-engine.sh ensure   # idempotent: start dockerd if `docker info` fails
#   scripts/docker-engine.sh status   # exit 0 when the engine answers, 3 otherwise
#
# The engine's log goes to ${TDA_DOCKERD_LOG:-/var/log/tda-dockerd.log}; dockerd is
# started detached (setsid, no inherited stdout) so callers such as .ci/run can end.
set -euo pipefail

LOG="${TDA_DOCKERD_LOG:-/var/log/tda-dockerd.log}"
WAIT_SECS="${TDA_DOCKERD_WAIT_SECS:-60}"

engine_up() { docker info >/dev/null 2>&1; }

ensure() {
    if engine_up; then
        echo "docker-engine: already running ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
        return 0
    fi
    if ! command -v dockerd >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            echo "docker-engine: installing Debian docker.io"
            DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io >/dev/null
        else
            echo "docker-engine: dockerd not found; install Debian docker.io (apt-get install docker.io)" >&2
            return 1
        fi
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "docker-engine: dockerd must be started as root" >&2
        return 1
    fi
    # A stale pid file from a killed engine prevents a restart.
    if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
        rm -f /var/run/docker.pid
    fi
    echo "docker-engine: starting dockerd (log: $LOG)"
    setsid dockerd >"$LOG" 2>&1 </dev/null &
    local deadline=$((SECONDS + WAIT_SECS))
    until engine_up; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "docker-engine: dockerd did not answer within ${WAIT_SECS}s; last log lines:" >&2
            tail -n 30 "$LOG" >&2 || true
            return 1
        fi
        sleep 0.5
    done
    echo "docker-engine: running ($(docker version --format '{{.Server.Version}}'))"
}

case "${1:-ensure}" in
    ensure) ensure ;;
    status) if engine_up; then echo "docker-engine: running"; else echo "docker-engine: not running"; exit 3; fi ;;
    *) echo "usage: $0 ensure|status" >&2; exit 2 ;;
esac
