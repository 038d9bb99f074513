"""Live updates: one poller reads the lab through the incident API and every open page hears the result.

Why server-sent events over a plain StreamingResponse: the page only listens (its actions are ordinary
POSTs), EventSource reconnects by itself after a restart, and the stream is ordinary HTTP — the same token
cookie, Host check and logs as every other request, no second protocol to secure (jupyter_server has to
check tokens on its websockets separately). The framing is three lines of code, so no extra dependency.

The poller reads every 1.5 s while a page is open (the page must move at least every 2 s) and every 10 s
when nobody looks, so throughput history is there when someone opens the page. Each reading runs in a
worker thread: the incident API is blocking (psycopg, Kafka, Connect's REST API).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from lab.workspace import view

log = logging.getLogger("workspace")

ACTIVE_EVERY_S = 1.5
IDLE_EVERY_S = 10.0
KEEPALIVE_S = 15.0
QUEUE_SIZE = 64


def _dumps(data: Any) -> str:
    return json.dumps(data, default=str, separators=(",", ":"))


class Hub:
    """Fan-out of updates to the open event streams. `publish` may be called from any thread: the data is
    serialised at once (the caller may change it afterwards) and delivered on the event loop."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.subscribers: set[asyncio.Queue[str | None]] = set()
        self.latest: dict[str, str] = {}
        self._lock = threading.Lock()
        self.closed = False
        self.on_subscribe = lambda: None  # a page opened: read the lab now rather than at the idle pace

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def publish(self, kind: str, data: Any) -> None:
        text = _dumps(data)
        with self._lock:
            self.latest[kind] = text
        message = f"event: {kind}\ndata: {text}\n\n"
        if self.loop is None or self.loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self._deliver(message)
        else:
            self.loop.call_soon_threadsafe(self._deliver, message)

    def _deliver(self, message: str | None) -> None:
        for queue in list(self.subscribers):
            if queue.full():  # a page that stopped reading: drop its oldest update, never block the others
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(message)

    def close(self) -> None:
        """Server shutting down: end every stream so the server need not wait for them."""
        self.closed = True
        self._deliver(None)

    async def stream(self) -> AsyncIterator[str]:
        queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE_SIZE)
        self.subscribers.add(queue)
        self.on_subscribe()
        try:
            yield "retry: 2000\n\n"
            with self._lock:
                first = dict(self.latest)
            for kind in ("chart", "snapshot", "check", "reset", "hint"):
                if kind in first:
                    yield f"event: {kind}\ndata: {first[kind]}\n\n"
            while not self.closed:
                try:
                    message = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except TimeoutError:  # asyncio's is the builtin one since Python 3.11 (the lab needs 3.11)
                    yield ": keepalive\n\n"
                    continue
                if message is None:
                    return
                yield message
        finally:
            self.subscribers.discard(queue)


class Poller:
    """Reads the lab and publishes a snapshot (and the chart, when it changed)."""

    def __init__(self, backend, hub: Hub, actions) -> None:
        self.backend = backend
        self.hub = hub
        self.actions = actions
        self.history = view.History.new()
        self.wake = asyncio.Event()
        self.seq = 0
        self.last: dict[str, Any] = {}
        self._chart_text = ""
        self._last_chart_at = 0.0
        self._hints_total: int | None = None
        self._incident_started: Any = None
        self._warned: dict[str, str] = {}
        self.on_new_incident = lambda: None  # a `lab reset` from the terminal: forget the old verdict and hints

    def _warn(self, key: str, message: str) -> None:
        """Log a failing reading once, not every 1.5 s while it keeps failing."""
        message = " ".join(message.split())[:300]
        if self._warned.get(key) != message:
            self._warned[key] = message
            log.warning("%s", message)

    def forget_history(self) -> None:
        """A new incident: the old throughput and row growth would mix a re-snapshot into the rates."""
        self.history = view.History.new()

    async def run(self) -> None:
        while not self.hub.closed:
            started = time.monotonic()
            try:
                snapshot = await asyncio.to_thread(self.read)
                self.hub.publish("snapshot", snapshot)
            except Exception:  # noqa: BLE001 - the poller must outlive any one bad reading
                log.exception("reading the lab failed")
            every = ACTIVE_EVERY_S if self.hub.subscribers else IDLE_EVERY_S
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), max(0.2, every - (time.monotonic() - started)))

    def read(self) -> dict[str, Any]:
        """One reading of the lab (blocking). Whatever cannot be read now is shown as unknown, with why."""
        self.seq += 1
        now = time.monotonic()
        problems: list[str] = []
        snap: dict[str, Any] = {"seq": self.seq, "at": datetime.now(UTC).isoformat(),
                                "reset": dict(self.actions.reset_state), "busy": self.actions.busy}
        report = None
        try:
            report = self.backend.status()
        except Exception as exc:  # noqa: BLE001
            problems.append(f"component map unavailable ({type(exc).__name__})")
            self._warn("status", f"reading the component map failed: {exc}")
        incident: dict[str, Any] = dict(getattr(report, "incident", None) or {})
        if report is not None:
            for topic in view.TOPICS:
                if topic in report.end_offsets:
                    self.history.offsets[topic].add(now, report.end_offsets[topic])
            if report.sink_lag:
                self.history.sink_lag.append(sum(report.sink_lag.values()))
            self.history.raw_rows.add(now, incident.get("raw_orders_rows"))
            self.history.fct_rows.add(now, incident.get("fct_orders_rows"))
            if report.foreign:
                problems.extend(report.foreign.values())
            snap["healthy"] = report.healthy
            snap["components"] = [view.health_dict(h) for h in report.components]
            snap["map"] = view.component_map(report.components, report.connectors, report.end_offsets,
                                             report.sink_lag, incident, self.history)
            snap["orders_paused"] = any(h.name == "orders-service" and h.healthy and h.detail == "paused"
                                        for h in report.components)
            if not incident and not report.foreign:
                problems.append("the incident's figures are unavailable (is the warehouse up?)")
            snap["symptoms"] = view.symptoms(incident, report.connectors, report.sink_lag, self.history) \
                if incident else []
        snap["figures"] = view.figures(incident, self.backend.quarter)
        try:
            if self._hints_total is None:
                self._hints_total = self.backend.hints_total()
            session = self.backend.session()
            clock = self.backend.clock()
            if self._incident_started is not None and clock.started_at != self._incident_started:
                self.on_new_incident()
            self._incident_started = clock.started_at
            snap["clock"] = view.clock(clock, session.hints_used, self._hints_total)
            snap["solved"] = session.solved
        except Exception as exc:  # noqa: BLE001
            problems.append(f"the session is unavailable ({type(exc).__name__})")
            snap["clock"] = self.last.get("clock")
        if now - self._last_chart_at >= 5.0 and incident:
            self._last_chart_at = now
            self.refresh_chart()
        snap["problems"] = problems
        self.last = snap
        return snap

    def refresh_chart(self) -> None:
        try:
            rows = view.chart(self.backend.revenue_by_day())
        except Exception as exc:  # noqa: BLE001
            self._warn("chart", f"reading revenue by day failed: {exc}")
            return
        data = {"rows": rows, "drift_days": view.drift_days(rows), "drift_summary": view.drift_summary(rows)}
        text = _dumps(data)
        if text != self._chart_text:
            self._chart_text = text
            self.hub.publish("chart", data)
