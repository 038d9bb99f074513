"""The Kafka broker: one KRaft node (broker + controller), formatted once, data under .lab/kafka/."""

from __future__ import annotations

import base64
import subprocess
import uuid

from confluent_kafka.admin import AdminClient

from lab import process
from lab.components.base import Health
from lab.components.jvm import java_argv
from lab.config import LOOPBACK, Component, Settings
from lab.errors import ExitCode, LabError
from lab.templates import render_text, write_if_changed

MAIN = "kafka.Kafka"


class KafkaBroker:
    def __init__(self, comp: Component, settings: Settings, java: str = "java") -> None:
        self.name = comp.name
        self.comp = comp
        self.settings = settings
        self.java = java
        self.port = settings.ports["kafka"]
        self.home = settings.lab_dir / "kafka"
        self.datadir = self.home / "data"
        self.config = self.home / "server.properties"
        self.logfile = settings.log(self.name)
        self.pidfile = settings.pidfile(self.name)

    @property
    def bootstrap(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def admin(self) -> AdminClient:
        return AdminClient({"bootstrap.servers": self.bootstrap, "socket.timeout.ms": 2000,
                            "log_level": 0})

    def _render(self) -> None:
        values = {**self.settings.template_vars(), "data_dir": str(self.datadir)}
        write_if_changed(self.config, render_text(self.settings.root / self.comp.spec["config"], values))

    def _format(self) -> None:
        if (self.datadir / "meta.properties").exists():
            return
        # A KRaft cluster id is 16 random bytes, base64url without padding (what `random-uuid` prints);
        # passed with "=" because one in 64 ids starts with "-".
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        argv = java_argv(self.java, self.settings, "broker", "128m", "kafka.tools.StorageTool",
                         "format", f"--cluster-id={cluster_id}", "-c", str(self.config))
        out = subprocess.run(argv, capture_output=True, text=True)
        if out.returncode != 0:
            raise LabError("formatting the Kafka log directory failed", f"read {self.logfile}",
                           ExitCode.LAB_UNHEALTHY, detail=(out.stdout + out.stderr)[-2000:])

    def pid(self) -> int | None:
        if self.settings.runtime == "docker":
            from lab.runtime import docker

            return docker.container_pid(self.settings, self.name)
        return process.read_pid(self.pidfile, marker=MAIN)

    def start(self) -> None:
        if self.pid() or self.settings.runtime == "docker":  # compose starts the containers
            return
        for port in (self.port, self.settings.ports["kafka_controller"]):
            process.require_free_port(port, self.name if port == self.port else "kafka-controller")
        self._render()
        self._format()
        argv = java_argv(self.java, self.settings, "broker", self.comp.spec.get("heap", "384m"), MAIN,
                         str(self.config))
        process.spawn(argv, self.logfile, self.pidfile)

    def ping(self) -> bool:
        md = self.admin().list_topics(timeout=1.5)
        return bool(md.brokers)

    def wait_ready(self, timeout: float = 60) -> None:
        process.wait_for(self.ping, timeout, interval=0.3, what="Kafka broker", log=self.logfile, pid=self.pid())

    def stop(self) -> None:
        pid = self.pid()
        if pid:
            process.stop(pid, timeout=20)

    def health(self) -> Health:
        pid = self.pid()
        if not pid:
            return Health(self.name, False, self.port, None, "not running")
        try:
            md = self.admin().list_topics(timeout=2)
        except Exception as exc:  # noqa: BLE001 - any client error means "not answering"
            return Health(self.name, False, self.port, pid, f"not answering: {exc}")
        return Health(self.name, True, self.port, pid, f"KRaft, {len(md.topics)} topics")

    def end_offsets(self, topics: list[str]) -> dict[str, int]:
        """Sum over partitions of each topic's end offset (high watermark)."""
        from confluent_kafka import Consumer, TopicPartition

        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "lab-status",
                             "enable.auto.commit": False, "log_level": 0})
        try:
            md = consumer.list_topics(timeout=3)
            result: dict[str, int] = {}
            for topic in topics:
                if topic not in md.topics:
                    continue
                total = 0
                for part in md.topics[topic].partitions:
                    _, high = consumer.get_watermark_offsets(TopicPartition(topic, part), timeout=3)
                    total += high
                result[topic] = total
            return result
        finally:
            consumer.close()

    def group_lag(self, group: str, topics: list[str]) -> dict[str, int]:
        """Per topic: end offset minus the group's committed offset (what the sink has yet to write)."""
        from confluent_kafka import Consumer, TopicPartition

        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": group,
                             "enable.auto.commit": False, "log_level": 0})
        try:
            md = consumer.list_topics(timeout=3)
            lag: dict[str, int] = {}
            for topic in topics:
                if topic not in md.topics:
                    continue
                parts = [TopicPartition(topic, p) for p in md.topics[topic].partitions]
                committed = consumer.committed(parts, timeout=3)
                total = 0
                for tp in committed:
                    _, high = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=3)
                    total += high - max(tp.offset, 0)
                lag[topic] = total
            return lag
        finally:
            consumer.close()

    def create_topics(self, topics: list[str]) -> None:
        """Create the CDC topics up front, so the sink subscribes to topics that already exist."""
        from confluent_kafka.admin import NewTopic

        admin = self.admin()  # keep a reference: the futures die with their client
        existing = set(admin.list_topics(timeout=5).topics)
        missing = [NewTopic(t, num_partitions=1, replication_factor=1) for t in topics if t not in existing]
        if missing:
            for fut in admin.create_topics(missing, operation_timeout=10).values():
                fut.result()

    def delete_topics(self, topics: list[str]) -> None:
        admin = self.admin()
        existing = set(admin.list_topics(timeout=3).topics)
        doomed = [t for t in topics if t in existing]
        if not doomed:
            return
        for fut in admin.delete_topics(doomed, operation_timeout=10).values():
            fut.result()
