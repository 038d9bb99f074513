#!/usr/bin/env bash
# Start, stop or report on a Docker engine for the lab's docker runtime (CI and machines without a
# service manager). Installs nothing: CI installs the engine with
#   apt-get install -y --no-install-recommends docker.io docker-compose debootstrap iptables
#
#   stack/docker/engine.sh start    start dockerd in the background unless an engine already answers
#   stack/docker/engine.sh stop     stop the dockerd this script started (pidfile) and its containerd
#   stack/docker/engine.sh status   say whether an engine answers, and whether this script started it
#
# Environment: LAB_ENGINE_DIR (pidfile + log; default /var/tmp/incident-lab-engine),
#              LAB_ENGINE_TIMEOUT (seconds to wait for `docker info`; default 60).
# Only the dockerd recorded in the pidfile is ever stopped; an engine that was already running (Docker
# Desktop, a systemd service) is used as it is and left alone.
set -u

STATE_DIR=${LAB_ENGINE_DIR:-/var/tmp/incident-lab-engine}
PIDFILE=$STATE_DIR/dockerd.pid
LOG=$STATE_DIR/dockerd.log
TIMEOUT=${LAB_ENGINE_TIMEOUT:-60}
# dockerd's supervised containerd writes its pid here (dockerd 20.10+ with no system containerd).
CONTAINERD_PIDFILE=/var/run/docker/containerd/containerd.pid

say() { echo "engine: $*"; }
die() { echo "engine: error: $*" >&2; exit 1; }

answers() { timeout 5 docker info >/dev/null 2>&1; }

alive() {  # alive PID COMM-SUBSTRING: the process exists and is that program (not a recycled pid)
    [ -n "$1" ] && [ -r "/proc/$1/comm" ] && grep -q "$2" "/proc/$1/comm" 2>/dev/null
}

our_pid() { [ -s "$PIDFILE" ] && cat "$PIDFILE"; }

start() {
    if answers; then
        if alive "$(our_pid)" dockerd; then say "dockerd (pid $(our_pid)) already running, started by this script"
        else say "an engine already answers (docker info); using it, not starting another"; fi
        return 0
    fi
    command -v docker >/dev/null || die "no docker CLI on PATH; install it (apt-get install -y docker.io)"
    command -v dockerd >/dev/null || die "no dockerd on PATH; install it: apt-get install -y --no-install-recommends docker.io docker-compose debootstrap iptables"
    [ "$(id -u)" = 0 ] || die "dockerd needs root here; run as root or start your engine (Docker Desktop) yourself"
    local old; old=$(our_pid)
    if alive "$old" dockerd; then
        say "dockerd (pid $old) is running but not answering yet; waiting"
    else
        mkdir -p "$STATE_DIR"
        # dockerd turns on IP forwarding and sets the FORWARD policy to DROP; `stop` puts both back.
        { echo "ip_forward=$(cat /proc/sys/net/ipv4/ip_forward 2>/dev/null)"
          echo "forward_policy=$(iptables -S FORWARD 2>/dev/null | awk '$1=="-P"{print $3; exit}')"; } >"$STATE_DIR/host-net.before"
        say "starting dockerd (log $LOG)"
        # setsid: its own session, so the caller's Ctrl-C or job control does not reach it.
        setsid dockerd >"$LOG" 2>&1 </dev/null &
        echo $! >"$PIDFILE"
    fi
    local pid; pid=$(our_pid)
    local waited=0
    until answers; do
        if ! alive "$pid" dockerd; then
            rm -f "$PIDFILE"
            echo "--- last lines of $LOG:" >&2; tail -n 15 "$LOG" >&2
            die "dockerd exited during start-up (see $LOG)"
        fi
        if [ "$waited" -ge "$TIMEOUT" ]; then
            echo "--- last lines of $LOG:" >&2; tail -n 15 "$LOG" >&2
            die "dockerd (pid $pid) did not answer \`docker info\` within ${TIMEOUT}s (see $LOG)"
        fi
        sleep 1; waited=$((waited + 1))
    done
    say "dockerd (pid $pid) ready after ~${waited}s; server $(docker version --format '{{.Server.Version}}' 2>/dev/null)"
}

stop() {
    local pid; pid=$(our_pid)
    if ! alive "$pid" dockerd; then
        rm -f "$PIDFILE"
        say "no dockerd started by this script is running; nothing to stop"
        return 0
    fi
    local cpid=""
    [ -s "$CONTAINERD_PIDFILE" ] && cpid=$(cat "$CONTAINERD_PIDFILE")
    say "stopping dockerd (pid $pid); it stops its containers first"
    kill -TERM "$pid"
    local waited=0
    while alive "$pid" dockerd; do
        if [ "$waited" -ge 30 ]; then say "dockerd still running after 30s; sending SIGKILL"; kill -KILL "$pid"; sleep 1; break; fi
        sleep 1; waited=$((waited + 1))
    done
    # dockerd stops the containerd it supervises; make sure of it (only that pid, only if it is containerd).
    if alive "$cpid" containerd; then
        # its parent was our dockerd; after dockerd's exit it is re-parented, so check the pidfile's owner only
        say "stopping dockerd's containerd (pid $cpid)"
        kill -TERM "$cpid"
        for _ in $(seq 1 10); do alive "$cpid" containerd || break; sleep 1; done
        alive "$cpid" containerd && kill -KILL "$cpid"
    fi
    rm -f "$PIDFILE"
    if [ -r "$STATE_DIR/host-net.before" ]; then
        local ip_forward="" forward_policy=""
        ip_forward=$(sed -n 's/^ip_forward=//p' "$STATE_DIR/host-net.before")
        forward_policy=$(sed -n 's/^forward_policy=//p' "$STATE_DIR/host-net.before")
        [ -n "$ip_forward" ] && echo "$ip_forward" >/proc/sys/net/ipv4/ip_forward 2>/dev/null
        [ -n "$forward_policy" ] && iptables -P FORWARD "$forward_policy" 2>/dev/null
        rm -f "$STATE_DIR/host-net.before"
        say "restored ip_forward=${ip_forward:-?} and the FORWARD policy ${forward_policy:-?} (dockerd's own iptables chains stay, empty)"
    fi
    say "stopped"
}

status() {
    local pid; pid=$(our_pid)
    if answers; then
        local v; v=$(docker version --format '{{.Server.Version}}' 2>/dev/null)
        if alive "$pid" dockerd; then say "running: dockerd $v (pid $pid, started by this script, log $LOG)"
        else say "running: an engine answers (server $v), not started by this script"; fi
        return 0
    fi
    if alive "$pid" dockerd; then say "dockerd (pid $pid) is running but does not answer (see $LOG)"; return 1; fi
    say "not running"
    return 3
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
