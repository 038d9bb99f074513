"""The `lab` command (`bin/lab` from the repository root). Commands are thin: they call the lab's verbs
(lab/api.py) and print. The checker and grader run in a process of their own (`python -m checks`)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import traceback
import webbrowser
from decimal import Decimal, InvalidOperation
from importlib import metadata
from pathlib import Path

import click

from lab import api, ui
from lab.config import settings as load_settings
from lab.errors import ExitCode, LabError

COMPONENT_NAMES = ["oltp", "warehouse", "kafka", "connect", "orders-service", "scheduler", "workspace"]
DATABASES = {"shop": "oltp", "erp": "oltp", "warehouse": "warehouse"}


def _version() -> str:
    try:
        return metadata.version("incident-lab")
    except metadata.PackageNotFoundError:
        return "unknown"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.version_option(_version(), prog_name="lab", message="%(prog)s %(version)s (The $516k Gap)")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """The $516k Gap — an incident lab on a real CDC pipeline."""
    ctx.obj = {"debug": debug}


def _lab_up() -> api.Lab:
    lab = api.open()
    if not lab.warehouse.running() or not lab.oltp.running():
        raise LabError("the lab is not running", "start it with `make lab-up`", ExitCode.LAB_UNHEALTHY)
    return lab


@cli.command()
@click.option("--seed", type=int, default=None, help="Variant seed for a fresh lab (default: the incident's).")
def up(seed: int | None) -> None:
    """Start every component that is not running (idempotent) and show the incident briefing."""
    from lab import briefing

    briefing.show(api.up(load_settings(), seed))


@cli.command()
@click.option("--wipe", is_flag=True, help="Also delete all lab data (.lab/, and the docker runtime's volumes).")
def down(wipe: bool) -> None:
    """Stop every lab process. Data stays unless --wipe."""
    api.down(load_settings(), wipe=wipe)
    ui.ok("lab stopped" + (" and its data wiped" if wipe else " (data kept; `bin/lab up` resumes)"))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """Component map: health, ports, processes, connectors, offsets, lag, row counts, tile vs ERP, clock."""
    from lab import status as status_mod

    report = api.status(api.open())
    if as_json:
        click.echo(json.dumps(report.as_dict(), default=str, indent=2))
    else:
        status_mod.render(report)
    sys.exit(ExitCode.OK if report.healthy else ExitCode.LAB_UNHEALTHY)


@cli.command()
@click.argument("component", type=click.Choice(COMPONENT_NAMES))
@click.option("-n", "--lines", default=60, show_default=True)
@click.option("-f", "--follow", is_flag=True)
def logs(component: str, lines: int, follow: bool) -> None:
    """Show a component's log (whichever runtime runs it)."""
    lab = api.open()
    try:
        comp = lab.component(component)
    except KeyError as exc:
        raise LabError(f"this lab has no {component}", "see `bin/lab status`", ExitCode.USAGE) from exc
    if follow:
        lab.runtime.follow_logs(comp.comp, lines)
        return
    text = lab.runtime.log_tail(comp.comp, lines)
    if not text:
        raise LabError(f"no log for {component} yet", "start the lab with `make lab-up`")
    click.echo(text)


@cli.command()
@click.option("--seed", type=int, default=None, help="Reset to another variant (default: the current one).")
@click.option("--keep-code", is_flag=True, help="Leave your dbt_project/ edits in place.")
def reset(seed: int | None, keep_code: bool) -> None:
    """Back to the pristine broken starting state: data, topics, offsets, slot, warehouse, models, clock, hints."""
    from lab import briefing

    briefing.show(api.reset(load_settings(), seed=seed, keep_code=keep_code))


@cli.command()
def tile() -> None:
    """Print the Q2 revenue tile as the CFO dashboard shows it, beside the ERP figure."""
    from lab import incident

    lab = _lab_up()
    t, e = api.tile(lab), api.erp(lab)
    ui.info(f"Q2 2026 revenue (tile): [bold]{incident.short_money(t)}[/]  ({incident.money(t)})")
    ui.info(f"ERP Q2 net revenue:     [bold]{incident.short_money(e)}[/]  ({incident.money(e)})")
    if t is not None:
        ui.info(f"Δ tile − ERP:           {incident.money(t - e)}")


@cli.command()
def hint() -> None:
    """One more hint each call, from vague to specific (the number used is recorded)."""
    number, total, text = api.next_hint(_lab_up())
    ui.info(f"[bold]Hint {number}/{total}[/]")
    ui.info(text)


@cli.command("open")
@click.option("--print-url", is_flag=True, help="Only print the URL (with its token).")
def open_workspace(print_url: bool) -> None:
    """Open the workspace (the incident in a browser) — the URL carries this lab's token."""
    from lab import workspace_link

    lab = _lab_up()
    url = workspace_link.url(lab.settings)
    if url is None or lab.workspace is None or not lab.workspace.pid():
        raise LabError("the workspace is not running", "`bin/lab up` starts it", ExitCode.LAB_UNHEALTHY)
    click.echo(url)
    if not print_url and not webbrowser.open(url):
        ui.warn("no browser could be opened from here: open the URL above yourself")


@cli.command()
def debrief() -> None:
    """The incident timeline: what you did on the lab clock, beside the pipeline's own events."""
    from lab import timeline

    timeline.render(timeline.collect(_lab_up()))


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("database", type=click.Choice(sorted(DATABASES)))
@click.option("--as", "role", default="oncall", show_default=True,
              help="Role: oncall (you, a superuser), lab_transformer (builds the models: no erp), lab_tester (runs "
                   "the tests: may read erp).")
@click.argument("psql_args", nargs=-1, type=click.UNPROCESSED)
def psql(database: str, role: str, psql_args: tuple[str, ...]) -> None:
    """psql into shop, erp or warehouse (with the docker runtime and no psql here, inside its container)."""
    lab = _lab_up()
    server = lab.component(DATABASES[database])
    where = lab.runtime.host(server.comp)
    if shutil.which("psql"):
        argv = ["psql", "-h", where.host, "-p", str(where.port), "-U", role, database, *psql_args]
    elif lab.runtime.name == "docker":
        argv = [*lab.runtime.exec_argv(server.comp, interactive=sys.stdin.isatty()), "psql", "-U", role, database,
                *psql_args]
    else:
        from lab import platform

        raise LabError("psql is not installed",
                       f"install the PostgreSQL client (`{platform.install_hint('postgresql')}`)")
    ui.info(f"[dim]$ {' '.join(argv)}[/]")
    os.execvp(argv[0], argv)


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("dbt_args", nargs=-1, type=click.UNPROCESSED)
def dbt(dbt_args: tuple[str, ...]) -> None:
    """dbt on dbt_project/ with its own profiles.yml, pointed at this lab (e.g. `bin/lab dbt build`)."""
    from lab import dbt as labdbt

    cfg = load_settings()
    project = cfg.root / "dbt_project"
    argv = [labdbt.dbt_executable(), *dbt_args, "--project-dir", str(project), "--profiles-dir", str(project)]
    env = {**os.environ, **cfg.env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    ui.info(f"[dim]$ dbt {' '.join(dbt_args)} --project-dir dbt_project --profiles-dir dbt_project[/]")
    sys.exit(subprocess.run(argv, env=env, cwd=cfg.root).returncode)


@cli.group()
def orders() -> None:
    """Drive the orders service: pause/resume it, or make one event by hand."""


@orders.command("pause")
def orders_pause() -> None:
    api.pause_orders(api.open())
    ui.ok("orders service paused (it keeps exporting the ERP control totals)")


@orders.command("resume")
def orders_resume() -> None:
    api.resume_orders(api.open())
    ui.ok("orders service writing again")


@orders.command("create")
@click.option("--customer", type=int, default=None, help="Customer id (default: a random one).")
@click.option("--amount", required=True, help="Order amount, e.g. 129.90 (exact decimal).")
def orders_create(customer: int | None, amount: str) -> None:
    """Create a paid order now (story time) and post its sale to the ERP."""
    try:
        value = Decimal(amount)
    except InvalidOperation as exc:
        raise LabError(f"--amount {amount!r} is not a number", "write it like 129.90", ExitCode.USAGE) from exc
    oid, cid = api.create_order(_lab_up(), value, customer)
    ui.ok(f"order {oid} created for customer {cid}: ${value:,.2f}")


def _close(kind: str, order_id: int) -> None:
    api.close_order(_lab_up(), kind, order_id)
    ui.ok(f"order {order_id}: {kind} done (OLTP and ERP)")


@orders.command("refund-v2")
@click.argument("order_id", type=int)
def orders_refund_v2(order_id: int) -> None:
    """Refund the v2 way: set refunded_at, leave status alone."""
    _close("refund-v2", order_id)


@orders.command("refund-old")
@click.argument("order_id", type=int)
def orders_refund_old(order_id: int) -> None:
    """Refund the old way: status = 'refunded'."""
    _close("refund-old", order_id)


@orders.command("cancel")
@click.argument("order_id", type=int)
def orders_cancel(order_id: int) -> None:
    """Cancel an order: status = 'cancelled'."""
    _close("cancel", order_id)


def _checks(*args: str) -> None:
    """`lab check|grade|rollup|roster …` are the checker's own commands, run in its own process."""
    cfg = load_settings()
    proc = subprocess.run([sys.executable, "-m", "checks", *args], env={**os.environ, **cfg.env()}, cwd=Path.cwd())
    sys.exit(proc.returncode)


_PASS_THROUGH = {"context_settings": {"ignore_unknown_options": True, "allow_interspersed_args": False,
                                      "help_option_names": []}, "add_help_option": False}


def _checks_command(name: str, help_text: str) -> None:
    """`bin/lab NAME …` hands its arguments to `checks NAME` untouched (the checker parses its own options)."""

    @cli.command(name, help=help_text, **_PASS_THROUGH)
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def command(args: tuple[str, ...]) -> None:
        _checks(name, *args)


for _name, _help in (
    ("check", "Is your fix real? Build dbt_project/ and decide each criterion (exit 0 pass, 1 fail, 2 lab error)."),
    ("grade", "Grade git refs, folders or patch files against a base, from a trusted copy (`bin/lab grade --help`)."),
    ("rollup", "A facilitator's table of many learners' reports (Markdown, CSV, HTML) (`bin/lab rollup --help`)."),
    ("roster", "The instructor's authoritative grading of a roster of learner repositories "
               "(`bin/lab roster --help`)."),
):
    _checks_command(_name, _help)


def _register_fleet() -> None:
    from lab.fleet import fleet

    cli.add_command(fleet)


_register_fleet()


@cli.command()
@click.option("--check", is_flag=True, help="Exit 1 if stack/compose.yaml differs from the description.")
def compose(check: bool) -> None:
    """Write stack/compose.yaml from stack/components.toml (the docker runtime)."""
    from lab.runtime import compose as compose_mod

    s = load_settings()
    text = compose_mod.render(s)
    target = s.root / "stack" / "compose.yaml"
    if check:
        if not target.exists() or target.read_text() != text:
            raise LabError("stack/compose.yaml is out of date with stack/components.toml", "run `bin/lab compose`")
        ui.ok("stack/compose.yaml agrees with stack/components.toml")
        return
    target.write_text(text)
    ui.ok(f"wrote {target.relative_to(s.root)}")


def _log_traceback() -> Path | None:
    try:
        path = load_settings().log("lab")
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as fh:
            fh.write(traceback.format_exc() + "\n")
        return path
    except Exception:  # noqa: BLE001 - never let logging hide the real error
        return None


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    ui.run_command(cli, interrupted="run the command again; nothing was lost", on_error=_log_traceback,
                   debug="--debug" in sys.argv)
