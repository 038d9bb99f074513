#!/usr/bin/env bash
# Prove the docker prototype on a real engine, end to end, with timings (this machine, or CI as root):
# engine -> base image -> images -> compose up (all healthy) -> OLTP row lands in the warehouse ->
# down / up (data kept in named volumes) -> down -v -> engine stopped again (if this script started it).
#
#   apt-get install -y --no-install-recommends docker.io docker-compose debootstrap iptables   (once)
#   stack/docker/prove.sh
#
# Published ports default to a block of their own (24320, 24321, 29092, 28083) so a native lab on the
# default ports can run beside it; LAB_PORT_* override them. Needs the lab's .venv (psycopg, confluent_kafka).
set -euo pipefail
cd "$(dirname "$0")/../.."
export LAB_PORT_OLTP=${LAB_PORT_OLTP:-24320} LAB_PORT_WAREHOUSE=${LAB_PORT_WAREHOUSE:-24321}
export LAB_PORT_KAFKA=${LAB_PORT_KAFKA:-29092} LAB_PORT_CONNECT=${LAB_PORT_CONNECT:-28083}
PROJECT=${PROJECT:-labproto}
COMPOSE=(docker-compose -p "$PROJECT" -f stack/docker/compose.prototype.yaml)
PY=${PY:-.venv/bin/python}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }
step() { echo "== $*"; }

wait_healthy() {  # until every container of the project is healthy; fail on unhealthy/exited
    local t0=$1 ids st
    while true; do
        ids=$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT")
        st=$(docker inspect -f '{{.Name}} {{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' $ids)
        if [ "$(echo "$st" | grep -c ' healthy$')" -eq 4 ]; then echo "all 4 healthy after $(since "$t0")"; return; fi
        if echo "$st" | grep -qE ' (unhealthy|exited|dead)$'; then echo "$st" >&2; return 1; fi
        if awk -v a="$t0" -v b="$(now)" 'BEGIN { exit !(b - a > 180) }'; then echo "$st" >&2; echo "not healthy after 180 s" >&2; return 1; fi
        sleep 0.25
    done
}

started_engine=no
if ! docker info >/dev/null 2>&1; then
    step "engine"; stack/docker/engine.sh start; started_engine=yes
fi
trap '[ "$started_engine" = yes ] && stack/docker/engine.sh stop' EXIT

step "base image";      t=$(now); stack/docker/base-image.sh;                 echo "base image: $(since "$t")"
step "images";          t=$(now); "${COMPOSE[@]}" build -q 2>&1 | grep -v -e DEPRECATED -e '^ *Install the buildx' -e 'docs.docker.com/go/buildx' -e '^$' || true
echo "images (build): $(since "$t")"
step "up (cold)";       "${COMPOSE[@]}" down -v >/dev/null 2>&1 || true
t=$(now); "${COMPOSE[@]}" up -d; wait_healthy "$t"
step "pipeline";        "$PY" stack/docker/smoke.py setup
step "memory";          docker stats --no-stream --format '{{.Name}} {{.MemUsage}}'
ps -eo rss=,comm= | awk '$2 ~ /^(dockerd|containerd|containerd-shim|docker-proxy)/ { m[$2] += $1; n[$2]++ }
    END { for (k in m) printf "%s x%d: %d MiB\n", k, n[k], m[k] / 1024 }'
step "down, up (warm)"; "${COMPOSE[@]}" down
t=$(now); "${COMPOSE[@]}" up -d; wait_healthy "$t"
"$PY" stack/docker/smoke.py verify
step "down -v";         "${COMPOSE[@]}" down -v
echo "prove: OK"
