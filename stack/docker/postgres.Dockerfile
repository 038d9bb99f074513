# The lab's PostgreSQL 15 (Debian's postgresql-15), for the OLTP and the warehouse services.
# Build context: stack/  (compose: `build: {context: <stack>, dockerfile: docker/postgres.Dockerfile}`)
# Plain Dockerfile syntax only: builds with the legacy builder (docker 20.10) and with BuildKit.
FROM debian:bookworm-slim

# No default cluster at install time: the entrypoint runs initdb into the volume on first start.
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends postgresql-common; \
    sed -ri 's/#?\s*(create_main_cluster)\s*=.*/\1 = false/' /etc/postgresql-common/createcluster.conf; \
    apt-get install -y --no-install-recommends postgresql-15; \
    rm -rf /var/lib/apt/lists/*; \
    install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data; \
    install -d -o postgres -g postgres -m 2775 /var/run/postgresql

ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data \
    LAB_PG_SUPERUSER=lab \
    LAB_PG_TRUST=samenet

COPY docker/bin/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh

# A new named volume mounted here starts as a copy of this (empty, postgres-owned, 0700) directory.
VOLUME /var/lib/postgresql/data
USER postgres
EXPOSE 5432
# SIGINT = PostgreSQL's "fast" shutdown: `docker stop` does not wait for clients (e.g. Debezium) to leave.
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
CMD ["postgres"]
