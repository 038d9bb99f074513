"""`lab status`: the component map, read live from the components themselves."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from rich.table import Table

from lab import sync, ui
from lab.components.base import Health
from lab.stack import Lab

TOPICS = ["shop.public.orders", "shop.public.customers"]
SINK_GROUP = "connect-warehouse-sink"


@dataclass
class Report:
    components: list[Health]
    connectors: dict[str, str] = field(default_factory=dict)
    end_offsets: dict[str, int] = field(default_factory=dict)
    sink_lag: dict[str, int] = field(default_factory=dict)
    rows: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    incident: dict[str, Any] = field(default_factory=dict)
    foreign: dict[str, str] = field(default_factory=dict)  # component → what answers on its port instead
    unavailable: dict[str, str] = field(default_factory=dict)  # figure → why it could not be read
    runtime: str = ""

    @property
    def healthy(self) -> bool:
        return not self.foreign and all(h.healthy for h in self.components) and all(
            s.startswith("RUNNING") and "FAILED" not in s for s in self.connectors.values()
        ) and bool(self.connectors)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["healthy"] = self.healthy
        return d


def _foreign(lab: Lab) -> dict[str, str]:
    """Servers on this lab's ports that are not this lab's: stopped here while another lab (or anything
    else) answers there, or stamped with another lab's id. Their figures must not be shown as ours."""
    out = {}
    for server, db in ((lab.oltp, "shop"), (lab.warehouse, "warehouse")):
        try:
            owner = server.owner(db)
        except psycopg.Error:
            continue  # nothing answers: plainly down
        if owner is not None and owner != lab.settings.lab_id:
            out[server.name] = f"another lab's {server.name} (lab id {owner}) answers on port {server.port}"
        elif not server.running():
            out[server.name] = f"another PostgreSQL answers on port {server.port}, not this lab's {server.name}"
    return out


def _why(exc: Exception) -> str:
    first = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {first[0][:160]}" if first else type(exc).__name__


def collect(lab: Lab) -> Report:
    report = Report(components=[c.health() for c in lab.all], runtime=lab.runtime.name)
    report.foreign = _foreign(lab)
    for h in report.components:
        if h.name in report.foreign:
            h.healthy, h.detail = False, report.foreign[h.name]
    up = {h.name: h.healthy for h in report.components}
    if up.get("connect"):
        for name in lab.connect.connector_names:
            st = lab.connect.status(name)
            if st is None:
                report.connectors[name] = "not registered"
            else:
                tasks = ", ".join(f"task {t['id']} {t['state']}" for t in st["tasks"]) or "no tasks"
                report.connectors[name] = f"{st['connector']['state']} ({tasks})"
    else:
        report.connectors = {name: "unknown (Connect is down)" for name in lab.connect.connector_names}
    if up.get("kafka"):
        try:
            report.end_offsets = lab.kafka.end_offsets(TOPICS)
            report.sink_lag = lab.kafka.group_lag(SINK_GROUP, TOPICS)
        except Exception as exc:  # noqa: BLE001 - status prints whatever else it can, and says what it could not
            report.unavailable["topic offsets"] = _why(exc)
    if report.foreign:
        return report  # another lab's figures are not this lab's: show none
    report.rows = sync.row_counts(lab)
    try:
        from lab import incident

        report.incident = incident.symptoms(lab)
    except Exception as exc:  # noqa: BLE001 - the incident view needs the warehouse; show the rest anyway
        report.incident = {}
        if up.get("warehouse"):  # with the warehouse down, its DOWN row already says why
            report.unavailable["the incident's figures"] = _why(exc)
    return report


def render(report: Report) -> None:
    table = Table(title=f"The $516k Gap — component map ({report.runtime} runtime)", title_justify="left")
    for col in ("component", "health", "port", "running as", "detail"):
        table.add_column(col)
    for h in report.components:
        table.add_row(h.name, "[green]healthy[/]" if h.healthy else "[red]DOWN[/]",
                      str(h.port or "—"), h.handle or "—", h.detail)
    ui.console.print(table)
    for name, state in report.connectors.items():
        colour = "green" if state.startswith("RUNNING") and "FAILED" not in state else "red"
        ui.info(f"connector [bold]{name}[/]: [{colour}]{state}[/]")
    for topic in TOPICS:
        if topic in report.end_offsets:
            lag = report.sink_lag.get(topic)
            ui.info(f"topic {topic}: end offset {report.end_offsets[topic]}, sink lag "
                    f"{lag if lag is not None else '?'} message(s)")
    for table_name, (src, dst) in report.rows.items():
        ui.info(f"rows {table_name}: OLTP {src if src is not None else '?'} · warehouse raw "
                f"{dst if dst is not None else '?'}")
    for what, why in report.unavailable.items():
        ui.warn(f"{what}: could not be read ({why})")
    if report.incident:
        from lab import incident

        incident.render(report.incident)
    if not report.healthy:
        ui.warn("some components are not healthy — `lab up` starts what is down, `lab logs NAME` says why")
