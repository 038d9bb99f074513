"""The `lab` command. Commands are thin: the work lives in the modules beside this one."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import traceback
from pathlib import Path

import click

from lab import ui
from lab.config import settings as load_settings
from lab.errors import ExitCode, LabError

COMPONENT_NAMES = ["oltp", "warehouse", "kafka", "connect", "orders-service", "scheduler"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """The $516k Gap — an incident lab on a real CDC pipeline."""
    ctx.obj = {"debug": debug}


@cli.command()
@click.option("--seed", type=int, default=None, help="Variant seed for a fresh lab (default: the incident's).")
def up(seed: int | None) -> None:
    """Start every component that is not running (idempotent) and show the incident briefing."""
    from lab import incident, lifecycle

    lab = lifecycle.up(load_settings(), seed)
    incident.briefing(lab)


@cli.command()
@click.option("--wipe", is_flag=True, help="Also delete all lab data under .lab/.")
def down(wipe: bool) -> None:
    """Stop every lab process. Data stays unless --wipe."""
    from lab import lifecycle

    lifecycle.down(load_settings(), wipe=wipe)
    ui.ok("lab stopped" + (" and its data wiped" if wipe else " (data kept; `lab up` resumes)"))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(as_json: bool) -> None:
    """Component map: health, ports, pids, connectors, offsets, lag, row counts, tile vs ERP, clock."""
    from lab import status as status_mod
    from lab.stack import build

    report = status_mod.collect(build(load_settings()))
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
    """Show a component's log."""
    path = load_settings().log(component)
    if not path.exists():
        raise LabError(f"no log for {component} yet ({path})", "start the lab with `make lab-up`")
    argv = ["tail", f"-n{lines}"] + (["-F"] if follow else []) + [str(path)]
    ui.info(f"[dim]$ {' '.join(argv)}[/]")
    subprocess.run(argv)


@cli.command()
@click.option("--seed", type=int, default=None, help="Reset to another variant (default: the current one).")
@click.option("--keep-code", is_flag=True, help="Leave your dbt_project/ edits in place.")
def reset(seed: int | None, keep_code: bool) -> None:
    """Back to the pristine broken starting state: data, topics, offsets, slot, warehouse, models, clock, hints."""
    from lab import incident
    from lab import reset as reset_mod

    lab = reset_mod.reset(load_settings(), seed=seed, keep_code=keep_code)
    incident.briefing(lab)


@cli.command()
def tile() -> None:
    """Print the Q2 revenue tile as the CFO dashboard shows it, beside the ERP figure."""
    from lab import incident
    from lab.stack import build

    lab = build(load_settings())
    _require_up(lab)
    t, e = incident.tile(lab), incident.erp(lab)
    ui.info(f"Q2 2026 revenue (tile): [bold]{incident.short_money(t)}[/]  ({incident.money(t)})")
    ui.info(f"ERP Q2 net revenue:     [bold]{incident.short_money(e)}[/]  ({incident.money(e)})")
    if t is not None:
        ui.info(f"Δ tile − ERP:           {incident.money(t - e)}")


@cli.command()
def hint() -> None:
    """One more hint each call, from vague to specific (the number used is recorded)."""
    from lab import hints
    from lab.stack import build

    lab = build(load_settings())
    _require_up(lab)
    number, total, text = hints.next_hint(lab)
    ui.info(f"[bold]Hint {number}/{total}[/]")
    ui.info(text)


def _require_up(lab) -> None:
    if not lab.warehouse.pid() or not lab.oltp.pid():
        raise LabError("the lab is not running", "start it with `make lab-up`", ExitCode.LAB_UNHEALTHY)


@cli.group()
def orders() -> None:
    """Drive the orders service: pause/resume it, or make one event by hand."""


@orders.command("pause")
def orders_pause() -> None:
    from lab.stack import build

    build(load_settings()).orders.pause()
    ui.ok("orders service paused (it keeps exporting the ERP control totals)")


@orders.command("resume")
def orders_resume() -> None:
    from lab.stack import build

    build(load_settings()).orders.resume()
    ui.ok("orders service writing again")


def _shop_erp():
    from lab.stack import build

    lab = build(load_settings())
    _require_up(lab)
    return lab, lab.oltp.connect("shop"), lab.oltp.connect("erp")


def _story_time(lab):
    from lab import bootstrap, clock

    started = bootstrap.clock_started_at(lab)
    return clock.story_now(started) if started else clock.STORY_START


@orders.command("create")
@click.option("--customer", type=int, default=None, help="Customer id (default: a random one).")
@click.option("--amount", required=True, help="Order amount, e.g. 129.90 (exact decimal).")
def orders_create(customer: int | None, amount: str) -> None:
    """Create a paid order now (story time) and post its sale to the ERP."""
    import random
    from decimal import Decimal, InvalidOperation

    from lab.orders_service import pick_customer
    from seed import events

    try:
        value = Decimal(amount)
    except InvalidOperation as exc:
        raise LabError(f"--amount {amount!r} is not a number", "write it like 129.90", ExitCode.USAGE) from exc
    lab, shop, erp = _shop_erp()
    with shop, erp:
        cid = customer or pick_customer(shop, random.Random())
        oid = events.create_order(shop, erp, cid, value, _story_time(lab))
    ui.ok(f"order {oid} created for customer {cid}: ${value:,.2f}")


def _order_event(kind: str, order_id: int) -> None:
    from seed import events

    fn = {"refund-v2": events.refund_v2, "refund-old": events.refund_old_flow, "cancel": events.cancel}[kind]
    lab, shop, erp = _shop_erp()
    with shop, erp:
        try:
            fn(shop, erp, order_id, _story_time(lab))
        except ValueError as exc:
            raise LabError(f"order {order_id}: {exc}", "pick an order that is still paid or shipped") from exc
    ui.ok(f"order {order_id}: {kind} done (OLTP and ERP)")


@orders.command("refund-v2")
@click.argument("order_id", type=int)
def orders_refund_v2(order_id: int) -> None:
    """Refund the v2 way: set refunded_at, leave status alone."""
    _order_event("refund-v2", order_id)


@orders.command("refund-old")
@click.argument("order_id", type=int)
def orders_refund_old(order_id: int) -> None:
    """Refund the old way: status = 'refunded'."""
    _order_event("refund-old", order_id)


@orders.command("cancel")
@click.argument("order_id", type=int)
def orders_cancel(order_id: int) -> None:
    """Cancel an order: status = 'cancelled'."""
    _order_event("cancel", order_id)


# `lab check` and `lab grade` live in checks/ (the trusted checker); they are only registered here.
from checks.cli import check as _check  # noqa: E402
from checks.cli import grade as _grade  # noqa: E402

cli.add_command(_check)
cli.add_command(_grade)


@cli.command()
@click.option("--check", is_flag=True, help="Exit 1 if stack/compose.yaml differs from the description.")
def compose(check: bool) -> None:
    """Write stack/compose.yaml from stack/components.toml (the docker runtime for laptops)."""
    from lab.runtime import docker

    s = load_settings()
    text = docker.render_compose(s)
    target = s.root / "stack" / "compose.yaml"
    if check:
        if not target.exists() or target.read_text() != text:
            raise LabError("stack/compose.yaml is out of date with stack/components.toml", "run `lab compose`")
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
    debug = "--debug" in sys.argv
    try:
        cli.main(standalone_mode=False)
    except LabError as exc:
        _log_traceback()
        if exc.detail:
            ui.err_console.print(exc.detail, markup=False, style="dim")
        if debug:
            traceback.print_exc()
        ui.err_console.print(exc.line(), markup=False, style="bold red")
        sys.exit(exc.code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.USAGE)
    except click.exceptions.Abort:
        ui.err_console.print("Error: interrupted — run the command again; nothing was lost", style="bold red")
        sys.exit(130)
    except KeyboardInterrupt:
        ui.err_console.print("Error: interrupted — run the command again; nothing was lost", style="bold red")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - last resort: one line plus where the traceback went
        path = _log_traceback()
        if debug:
            traceback.print_exc()
        where = f"the traceback is in {path}" if path else "rerun with --debug"
        ui.err_console.print(f"Error: unexpected {type(exc).__name__}: {exc} — {where}", markup=False,
                             style="bold red")
        sys.exit(ExitCode.FAILED)
