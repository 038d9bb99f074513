"""The Kafka broker: one KRaft node (broker + controller). How to reach it, when it is ready, its topics
and offsets. The runtime (lab/runtime) formats and starts it."""

from __future__ import annotations

from confluent_kafka.admin import AdminClient

from lab import process
from lab.components.base import Health
from lab.config import Component, Settings


class KafkaBroker:
    def __init__(self, comp: Component, settings: Settings, runtime) -> None:
        self.name = comp.name
        self.comp = comp
        self.settings = settings
        self.runtime = runtime

    @property
    def port(self) -> int:
        return self.runtime.host(self.comp).port

    @property
    def bootstrap(self) -> str:
        return str(self.runtime.host(self.comp))

    def admin(self) -> AdminClient:
        return AdminClient({"bootstrap.servers": self.bootstrap, "socket.timeout.ms": 2000, "log_level": 0})

    def pid(self) -> int | None:
        return self.runtime.pid(self.comp)

    def start(self) -> None:
        self.runtime.start([self.comp])

    def stop(self) -> None:
        self.runtime.stop([self.comp])

    def ping(self) -> bool:
        md = self.admin().list_topics(timeout=1.5)
        return bool(md.brokers)

    def wait_ready(self, timeout: float = 60) -> None:
        process.wait_for(self.ping, timeout, interval=0.3, what="Kafka broker", log=self.runtime.log_path(self.comp),
                         pid=self.pid())

    def health(self) -> Health:
        handle = self.runtime.handle(self.comp)
        if not self.runtime.running(self.comp):
            return Health(self.name, False, self.port, None, "not running")
        try:
            md = self.admin().list_topics(timeout=2)
        except Exception as exc:  # noqa: BLE001 - any client error means "not answering"
            return Health(self.name, False, self.port, self.pid(), f"not answering: {exc}", handle)
        return Health(self.name, True, self.port, self.pid(), f"KRaft, {len(md.topics)} topics", handle)

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
