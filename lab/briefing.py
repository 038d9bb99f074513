"""The incident briefing printed by `lab up` and `lab reset`: the story, the symptoms, where to look.

Every command it shows works as printed from the repository root (tests/integration/test_commands.py runs
each one): `bin/lab …` is the launcher beside the Makefile, and the ports are this lab's own.
"""

from __future__ import annotations

from lab import incident, ui
from lab.stack import Lab


def commands(lab: Lab) -> list[tuple[str, str]]:
    """(command, what it shows) — the 'where to look' list, as this lab's learner types it."""
    connect = lab.runtime.host(lab.connect.comp)
    return [
        ("bin/lab psql shop", "the OLTP database (also: bin/lab psql erp, the ledger)"),
        ("bin/lab psql warehouse", "raw.*, analytics.*, erp.*, ops.*"),
        (f"curl -s {connect}/connectors/shop-source/status", "the Kafka Connect REST API"),
        ("bin/lab dbt build", "build the models in dbt_project/ (as lab_transformer; yours to fix)"),
        ("bin/lab status", "the component map, lag, row counts, tile vs ERP, the clock"),
        ("bin/lab hint", "one more hint"),
        ("bin/lab check", "is your fix real? (the checker)"),
    ]


def workspace_line(lab: Lab) -> str | None:
    from lab import workspace_link

    url = workspace_link.url(lab.settings)
    return f"Open the workspace: {url}   (or bin/lab open)" if url else None


def show(lab: Lab) -> None:
    s = incident.symptoms(lab)
    ui.info("")
    ui.info("[bold]═══ INCIDENT — The $516k Gap ═══[/]")
    ui.info("Friday, 08:47 UTC. Finance just pinged: the Q2 revenue tile on the CFO dashboard reads "
            f"[bold]{incident.short_money(s['tile'])}[/], but the ERP — the system of record — says "
            f"[bold]{incident.short_money(s['erp'])}[/]. The CEO walks into the board meeting at 09:00.")
    ui.info("Nothing looks broken: the connector is green, dbt is passing, the dashboard is fresh, no alert fired.")
    incident.render(s)
    ui.info("")
    line = workspace_line(lab)
    if line:
        ui.info(f"[bold]{line}[/]")
        ui.info("")
    ui.info("[bold]Where to look[/] (from the repository root)")
    width = max(len(c) for c, _ in commands(lab))
    for command, what in commands(lab):
        ui.info(f"  {command.ljust(width)}  [dim]# {what}[/]")
