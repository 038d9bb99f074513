"""The Kafka Connect worker (distributed mode, one worker) and the connectors it runs: how to reach it,
when it is ready, and the connector operations (register, stop, reset offsets, resume).

Connectors are registered idempotently with PUT /connectors/<name>/config, and only when their config
differs from what the worker already has: re-putting an identical config would restart the tasks.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from lab import process
from lab.components.base import Health
from lab.config import Component, Settings
from lab.errors import ExitCode, LabError
from lab.templates import render_connector


class ConnectWorker:
    def __init__(self, comp: Component, settings: Settings, runtime) -> None:
        self.name = comp.name
        self.comp = comp
        self.settings = settings
        self.runtime = runtime

    @property
    def port(self) -> int:
        return self.runtime.host(self.comp).port

    @property
    def url(self) -> str:
        return f"http://{self.runtime.host(self.comp)}"

    def http(self) -> httpx.Client:
        # Plain http on loopback: no TLS, so no CA bundle to load for every client (~60 ms of CPU each).
        return httpx.Client(base_url=self.url, timeout=10, verify=False)

    # connectors as described in stack/connectors/*.json ----------------------------------------------
    def connector_specs(self) -> list[dict[str, Any]]:
        values = self.runtime.template_values()
        return [render_connector(self.settings.root / p, values) for p in self.comp.spec["connectors"]]

    @property
    def connector_names(self) -> list[str]:
        return [c["name"] for c in self.connector_specs()]

    # lifecycle (the runtime's) ------------------------------------------------------------------
    def pid(self) -> int | None:
        return self.runtime.pid(self.comp)

    def start(self) -> None:
        self.runtime.start([self.comp])

    def stop(self) -> None:
        self.runtime.stop([self.comp])

    def ping(self) -> bool:
        with self.http() as client:
            return client.get("/connectors").status_code == 200

    def wait_ready(self, timeout: float = 90) -> None:
        process.wait_for(self.ping, timeout, interval=0.3, what="Kafka Connect worker",
                         log=self.runtime.log_path(self.comp), pid=self.pid())

    # connectors ---------------------------------------------------------------------------------
    def register(self) -> list[str]:
        """PUT each connector's config where it differs; returns the names that changed."""
        changed = []
        with self.http() as client:
            for spec in self.connector_specs():
                name, config = spec["name"], spec["config"]
                current = client.get(f"/connectors/{name}/config")
                if current.status_code == 200:
                    have = {k: v for k, v in current.json().items() if k != "name"}
                    if have == config:
                        continue
                resp = client.put(f"/connectors/{name}/config", json=config)
                if resp.status_code >= 400:
                    raise LabError(f"Kafka Connect rejected connector {name}: {resp.text[:300]}",
                                   f"check stack/connectors/{name}.json", ExitCode.LAB_UNHEALTHY)
                changed.append(name)
        return changed

    def resume_stopped(self) -> list[str]:
        """Resume connectors that are STOPPED or PAUSED (the lab never leaves them so on purpose)."""
        resumed = []
        with self.http() as client:
            for name in self.connector_names:
                st = client.get(f"/connectors/{name}/status")
                if st.status_code == 200 and st.json()["connector"]["state"] in ("STOPPED", "PAUSED"):
                    client.put(f"/connectors/{name}/resume").raise_for_status()
                    resumed.append(name)
        return resumed

    def status(self, name: str) -> dict[str, Any] | None:
        with self.http() as client:
            resp = client.get(f"/connectors/{name}/status")
        return resp.json() if resp.status_code == 200 else None

    @staticmethod
    def running(status: dict[str, Any] | None) -> bool:
        return bool(status and status["connector"]["state"] == "RUNNING" and status["tasks"]
                    and all(t["state"] == "RUNNING" for t in status["tasks"]))

    def wait_connectors(self, timeout: float = 60) -> None:
        """Until every connector and every task is RUNNING; restarts a FAILED task once."""
        deadline = time.monotonic() + timeout
        restarted: set[str] = set()
        for name in self.connector_names:
            while True:
                st = self.status(name)
                if self.running(st):
                    break
                failed = [t for t in (st or {}).get("tasks", []) if t["state"] == "FAILED"]
                if failed and name not in restarted:
                    restarted.add(name)
                    with self.http() as client:
                        client.post(f"/connectors/{name}/restart", params={"includeTasks": "true",
                                                                          "onlyFailed": "true"})
                elif failed:
                    trace = failed[0].get("trace", "").splitlines()
                    raise LabError(f"connector {name} task FAILED: {trace[0] if trace else '?'}",
                                   "`lab logs connect` shows the trace; `lab reset` starts it clean",
                                   ExitCode.LAB_UNHEALTHY, detail="\n".join(trace[:8]))
                if time.monotonic() > deadline:
                    raise LabError(f"connector {name} not RUNNING after {timeout:.0f} s (state: "
                                   f"{_state_words(st)})", "`lab logs connect` says why",
                                   ExitCode.LAB_UNHEALTHY, detail=self.runtime.log_tail(self.comp, 15))
                time.sleep(0.1)

    def delete_connector(self, name: str) -> None:
        with self.http() as client:
            client.delete(f"/connectors/{name}")

    def stop_and_reset_offsets(self) -> None:
        """PUT /stop each connector, wait until STOPPED, then DELETE its offsets (KIP-875) — the first half
        of a re-snapshot (`lab reset`); `resume_all` is the second."""
        with self.http() as client:
            for name in self.connector_names:
                if client.get(f"/connectors/{name}").status_code == 404:
                    continue
                client.put(f"/connectors/{name}/stop").raise_for_status()
            for name in self.connector_names:
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    st = client.get(f"/connectors/{name}/status")
                    if st.status_code == 404 or st.json()["connector"]["state"] == "STOPPED":
                        break
                    time.sleep(0.1)
                if st.status_code == 404:
                    continue
                # Tasks may take a moment to release; the offsets API answers 400 until they have. A sink's
                # consumer group must also be empty: after a crash (a killed worker, a restarted broker) the
                # dead consumer stays a member until its session times out (10 s, warehouse-sink.json).
                deadline = time.monotonic() + 60
                while True:
                    resp = client.delete(f"/connectors/{name}/offsets")
                    if resp.status_code < 400 or time.monotonic() > deadline:
                        break
                    time.sleep(0.2)
                if resp.status_code >= 400:
                    raise LabError(f"could not reset the offsets of connector {name}: {resp.text[:200]}",
                                   "`lab logs connect`; `lab down && lab up` then `lab reset`", ExitCode.LAB_UNHEALTHY)

    def source_partition(self) -> tuple[str, dict[str, str]]:
        """The Debezium source connector's name and its offset partition ({"server": <topic.prefix>})."""
        spec = next(c for c in self.connector_specs() if "PostgresConnector" in c["config"]["connector.class"])
        return spec["name"], {"server": spec["config"]["topic.prefix"]}

    def set_source_offset(self, lsn: int, tx_id: int, ts_usec: int) -> None:
        """Debezium resumes streaming at this LSN, with no snapshot (the connector must be STOPPED): how a
        reset hands it the replication slot it made for the restored database (PATCH …/offsets, KIP-875)."""
        name, partition = self.source_partition()
        body = {"offsets": [{"partition": partition, "offset": {"lsn": lsn, "txId": tx_id, "ts_usec": ts_usec}}]}
        with self.http() as client:
            resp = client.patch(f"/connectors/{name}/offsets", json=body)
        if resp.status_code >= 400:
            raise LabError(f"could not set the offsets of connector {name}: {resp.text[:200]}",
                           "`bin/lab reset` again; `bin/lab logs connect` says why", ExitCode.LAB_UNHEALTHY)

    def resume_all(self) -> None:
        self.register()  # also recreates a connector deleted by hand
        with self.http() as client:
            for name in self.connector_names:
                client.put(f"/connectors/{name}/resume").raise_for_status()
        self.wait_connectors()

    def health(self) -> Health:
        handle = self.runtime.handle(self.comp)
        if not self.runtime.running(self.comp):
            return Health(self.name, False, self.port, None, "not running")
        try:
            self.ping()
        except httpx.HTTPError as exc:
            return Health(self.name, False, self.port, self.pid(), f"REST API not answering: {exc}", handle)
        return Health(self.name, True, self.port, self.pid(), "REST API answering", handle)


def _state_words(st: dict[str, Any] | None) -> str:
    if not st:
        return "not registered"
    tasks = ", ".join(f"task {t['id']} {t['state']}" for t in st.get("tasks", [])) or "no tasks yet"
    return f"connector {st['connector']['state']}, {tasks}"
