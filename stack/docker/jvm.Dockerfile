# The lab's JVM image: OpenJDK 17 (Debian) + the Kafka broker, the Connect worker and the Debezium plugins,
# resolved by Maven from the lab's manifest stack/jvm/ exactly as the native runtime lays them out:
#   /opt/lab/jvm/broker/*.jar   /opt/lab/jvm/connect/*.jar   /opt/lab/jvm/plugins/<plugin>/
# One image, two services: `kafka` (command /opt/lab/bin/kafka) and `connect` (command /opt/lab/bin/connect).
# Build context: stack/  (compose: `build: {context: <stack>, dockerfile: docker/jvm.Dockerfile}`)
# Plain Dockerfile syntax only: builds with the legacy builder (docker 20.10) and with BuildKit.

# --- stage 1: resolve the jars (a laptop needs no Java or Maven of its own) ---------------------------
FROM debian:bookworm-slim AS jars
# /usr/share/man/man1: the JDK's postinst links its man pages there, and the slim image has no man dirs.
RUN set -eux; \
    mkdir -p /usr/share/man/man1; \
    apt-get update; \
    apt-get install -y --no-install-recommends openjdk-17-jdk-headless maven; \
    rm -rf /var/lib/apt/lists/*
# Only the manifest: this layer (and the download) is rebuilt only when stack/jvm/ changes.
COPY jvm/ /src/jvm/
RUN set -eux; \
    mvn -B -q -ntp -Dmaven.repo.local=/tmp/m2 -f /src/jvm/pom.xml -Dlab.jvm.dir=/opt/lab/jvm package; \
    rm -rf /tmp/m2 /src/jvm/*/target /src/jvm/target; \
    ls /opt/lab/jvm/broker/kafka_2.13-*.jar /opt/lab/jvm/connect/connect-runtime-*.jar; \
    ls -d /opt/lab/jvm/plugins/debezium-connector-postgres /opt/lab/jvm/plugins/debezium-connector-jdbc

# --- stage 2: the runtime image ------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN set -eux; \
    mkdir -p /usr/share/man/man1; \
    apt-get update; \
    apt-get install -y --no-install-recommends openjdk-17-jre-headless curl; \
    rm -rf /var/lib/apt/lists/*; \
    useradd --system --uid 999 --user-group --home-dir /opt/lab --no-create-home --shell /usr/sbin/nologin lab; \
    install -d -o lab -g lab -m 0750 /var/lib/kafka/data /opt/lab/run

COPY --from=jars /opt/lab/jvm/ /opt/lab/jvm/

# Small heaps and a fast-starting JIT, as in lab/components/jvm.py; heap per service via LAB_HEAP.
ENV LAB_JVM_DIR=/opt/lab/jvm \
    LAB_JVM_FLAGS="-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true -Dfile.encoding=UTF-8" \
    LAB_HEAP=384m \
    LAB_RUN_DIR=/opt/lab/run

# Scripts and config templates last: editing them rebuilds only these small layers.
COPY docker/bin/lab-jvm-common.sh docker/bin/kafka docker/bin/kafka-ready docker/bin/connect /opt/lab/bin/
# The same templates as the native runtime, rendered at start from the TPL_* variables that compose sets.
COPY kafka/server.properties /opt/lab/templates/server.properties
COPY connect/worker.properties connect/log4j2.properties /opt/lab/templates/

# No VOLUME here: the kafka service mounts a named volume on /var/lib/kafka/data (a new one starts as a
# copy of this empty, lab-owned directory); a VOLUME line would give the connect service, which shares the
# image, an anonymous volume that `lab down --wipe` could not name.
USER lab
WORKDIR /opt/lab
CMD ["/opt/lab/bin/kafka"]
