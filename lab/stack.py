"""The lab's components, built from the description in stack/components.toml."""

from __future__ import annotations

from dataclasses import dataclass

from lab.components.connect import ConnectWorker
from lab.components.kafka import KafkaBroker
from lab.components.postgres import PostgresServer
from lab.components.python_service import PythonService
from lab.config import Settings


@dataclass
class Lab:
    settings: Settings
    oltp: PostgresServer
    warehouse: PostgresServer
    kafka: KafkaBroker
    connect: ConnectWorker
    orders: PythonService
    scheduler: PythonService

    @property
    def all(self) -> list:
        return [self.oltp, self.warehouse, self.kafka, self.connect, self.orders, self.scheduler]

    def component(self, name: str):
        for comp in self.all:
            if comp.name == name:
                return comp
        raise KeyError(name)


def build(settings: Settings, java: str = "java") -> Lab:
    comps = settings.stack.components
    return Lab(
        settings=settings,
        oltp=PostgresServer(comps["oltp"], settings),
        warehouse=PostgresServer(comps["warehouse"], settings),
        kafka=KafkaBroker(comps["kafka"], settings, java),
        connect=ConnectWorker(comps["connect"], settings, java),
        orders=PythonService(comps["orders-service"], settings),
        scheduler=PythonService(comps["scheduler"], settings),
    )
