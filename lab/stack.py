"""The lab's components, built from the description in stack/components.toml and run by one runtime."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from lab.components.base import Health
from lab.components.connect import ConnectWorker
from lab.components.kafka import KafkaBroker
from lab.components.postgres import PostgresServer
from lab.components.python_service import PythonService
from lab.config import Settings
from lab.runtime import Runtime, make
from lab.session import SessionStore

SERVER_KINDS = ("postgres", "kafka", "connect")


@dataclass
class Lab:
    settings: Settings
    runtime: Runtime
    oltp: PostgresServer
    warehouse: PostgresServer
    kafka: KafkaBroker
    connect: ConnectWorker
    orders: PythonService
    scheduler: PythonService
    workspace: PythonService | None = None

    @property
    def all(self) -> list:
        return [c for c in (self.oltp, self.warehouse, self.kafka, self.connect, self.orders, self.scheduler,
                            self.workspace) if c is not None]

    @property
    def servers(self) -> list:
        return [self.oltp, self.warehouse, self.kafka, self.connect]

    @property
    def services(self) -> list[PythonService]:
        return [c for c in (self.orders, self.scheduler, self.workspace) if c is not None]

    def component(self, name: str):
        for comp in self.all:
            if comp.name == name:
                return comp
        raise KeyError(name)

    def health(self) -> list[Health]:
        return [c.health() for c in self.all]

    @cached_property
    def session(self) -> SessionStore:
        return SessionStore(lambda: self.warehouse.connect("warehouse"))


def build(settings: Settings, runtime: Runtime | None = None) -> Lab:
    runtime = runtime or make(settings)
    comps = settings.stack.components
    return Lab(
        settings=settings,
        runtime=runtime,
        oltp=PostgresServer(comps["oltp"], settings, runtime),
        warehouse=PostgresServer(comps["warehouse"], settings, runtime),
        kafka=KafkaBroker(comps["kafka"], settings, runtime),
        connect=ConnectWorker(comps["connect"], settings, runtime),
        orders=PythonService(comps["orders-service"], settings, runtime),
        scheduler=PythonService(comps["scheduler"], settings, runtime),
        workspace=PythonService(comps["workspace"], settings, runtime) if "workspace" in comps else None,
    )
