#!/bin/bash
# Entrypoint of the lab's PostgreSQL image. Runs as the postgres user (never root).
#  - first start (no $PGDATA/PG_VERSION): initdb with superuser $LAB_PG_SUPERUSER (lab), UTF8, locale C,
#    trust authentication for local connections and for the container network ($LAB_PG_TRUST, default
#    `samenet`: every subnet the container is attached to; the host reaches the server only through the
#    port that compose publishes on 127.0.0.1);
#  - then exec postgres (PID 1, so `docker stop` reaches it) with listen_addresses='*' followed by the
#    container's command, e.g. `postgres -c wal_level=logical -c shared_buffers=64MB` (later -c wins).
# Any other command (bash, psql ...) is run as it is.
set -euo pipefail

if [ "${1:-postgres}" = postgres ]; then
    [ "$#" -gt 0 ] && shift
elif [ "${1:0:1}" != - ]; then
    exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
    echo "postgres-entrypoint: refusing to run PostgreSQL as root (the image runs as user postgres)" >&2
    exit 1
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -n "$(ls -A "$PGDATA" 2>/dev/null)" ]; then
        echo "postgres-entrypoint: $PGDATA is not empty but holds no cluster (no PG_VERSION); refusing to initdb over it" >&2
        exit 1
    fi
    # As PID 1, bash would ignore docker stop's signal (no default action for PID 1): finish the
    # initdb, then exit, rather than be SIGKILLed half-way through it 10 s later.
    trap 'echo "postgres-entrypoint: stopped during initdb (the cluster is complete)"; exit 143' TERM INT
    echo "postgres-entrypoint: first start, initdb into $PGDATA (superuser ${LAB_PG_SUPERUSER}, UTF8, locale C)"
    initdb -D "$PGDATA" -U "$LAB_PG_SUPERUSER" -A trust -E UTF8 --locale=C -N >/dev/null
    cat >>"$PGDATA/pg_hba.conf" <<HBA

# Added by the lab's image: trust on the container network (no port of this server is reachable from
# outside it except the one compose publishes on the host's 127.0.0.1).
host    all             all             ${LAB_PG_TRUST}                 trust
host    replication     all             ${LAB_PG_TRUST}                 trust
HBA
    sync
    trap - TERM INT
fi

exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
