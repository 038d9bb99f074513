"""`lab check`: build the learner's project into a private schema and decide each criterion of §6.

Order of work, and why: health first (an unhealthy lab can only give ERROR); the orders service and the
scheduler paused so the tile and the ERP are read at one watermark; the build; criteria 2, 3, 5, 6 and
the regression guard at that watermark; the live probe last, since it changes the data.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from checks import build as builder
from checks import (
    guard,
    health,
    honesty,
    judge_build,
    money,
    privileges,
    probe,
    project,
    redact,
    shipped_tests,
    state,
    watermark,
)
from checks.outcome import CheckError, Criterion, Report, Status, errored, judged, not_judged, not_reached
from lab import api, dbt
from lab.api import Lab
from lab.config import Settings
from lab.errors import LabError

DEFAULT_TIMEOUT = 120.0


@dataclass
class Options:
    project_dir: Path
    base_project: Path | None = None  # default: the shipped project as the lab first saw it
    probe_seed: int | None = None
    timeout: float = DEFAULT_TIMEOUT  # per dbt invocation on the learner's project
    guard: bool = True
    record: bool = True  # remember a first success in ops.lab_state 'solved'
    mode: str = "check"
    criterion1: Criterion | None = None  # decided by the grader (tampering); `lab check` does not judge it
    keep: bool = False  # keep the check's schemas (debugging)
    on_event: Callable[[dict[str, Any]], None] | None = None  # each criterion as it is decided (the workspace)


class _Streamed(list):
    """The report's criteria, each handed to a listener the moment it is decided."""

    def __init__(self, listener: Callable[[dict[str, Any]], None]) -> None:
        super().__init__()
        self.listener = listener

    def append(self, c: Criterion) -> None:
        super().append(c)
        self.listener({"event": "criterion", "number": c.number, "key": c.key, "title": c.title,
                       "status": c.status.value, "message": c.message, "score": c.score, "max_score": c.max_score,
                       "required": c.required})


@contextlib.contextmanager
def _one_check_at_a_time(settings: Settings) -> Iterator[None]:
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.run_dir / "check.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise CheckError("another check is running on this lab", "wait for it to finish") from exc
        yield


def run(settings: Settings, opts: Options) -> Report:
    started = time.monotonic()
    lab = api.open(settings)
    health.require_running(lab)  # before `lab up`: one line, exit 2, no report
    report = Report(opts.mode)
    if opts.on_event:
        report.criteria = _Streamed(opts.on_event)
    report.lab.update(state.session(lab))
    report.lab["project_dir"] = _shown(opts.project_dir, settings)
    report.criteria.append(opts.criterion1 or not_judged(
        1, "judged by `lab grade` (it compares your branch with the base ref)"))
    problem = None
    try:
        health.require_healthy(lab)
        with _one_check_at_a_time(settings), _Run(lab, opts, report) as run_, watermark.services_paused(lab):
            report.lab.setdefault("timings", {})["pause"] = round(time.monotonic() - started, 2)
            _judge(lab, opts, report, run_)
    except CheckError as err:
        problem, report.error = err.problem, err.line()
    except (psycopg.OperationalError, LabError) as exc:
        # A server gone or a lab step failing mid-check is the lab's trouble, never a verdict on the fix.
        problem = exc.problem if isinstance(exc, LabError) else f"lost a database connection ({_first_line(exc)})"
        report.error = CheckError(problem, "`lab status` shows what is wrong; `lab up`, then check again").line()
    except Exception as exc:  # noqa: BLE001 - a check that cannot finish is an ERROR, never a verdict
        where = _shown(_log_traceback(settings), settings)
        problem = f"the checker failed unexpectedly ({type(exc).__name__})"
        report.error = CheckError(problem, f"report it to the lab's maintainers (traceback in {where})").line()
    report.fill_unjudged(problem)
    report.lab["duration_s"] = round(time.monotonic() - started, 1)
    redact.report(report, {"$LAB_HOME": settings.lab_dir, ".": settings.root, "~": Path.home()})
    if report.status is Status.PASS and opts.record:
        state.record_solved(lab, {"time_to_fix_s": report.lab.get("time_to_fix_s"),
                                  "hints_used": report.lab.get("hints_used"), "mode": opts.mode,
                                  "probe_seed": (report.lab.get("probe") or {}).get("seed")})
    return report


@contextlib.contextmanager
def timed(report: Report, name: str) -> Iterator[None]:
    """Where a check spends its time (report.lab['timings'], seconds): the 60 s budget of LAB_SPEC §7."""
    if isinstance(report.criteria, _Streamed):
        report.criteria.listener({"event": "phase", "name": name})
    start = time.monotonic()
    try:
        yield
    finally:
        report.lab.setdefault("timings", {})[name] = round(time.monotonic() - start, 2)


def _shown(path: Path, settings: Settings) -> str:
    """A path as a report may show it: relative to the lab, never the grading machine's folders."""
    for root in (settings.root, settings.lab_dir):
        if path.is_relative_to(root):
            return path.relative_to(root).as_posix()
    return path.name


def _log_traceback(settings: Settings) -> Path:
    import traceback

    path = settings.log("checker")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fh.write(traceback.format_exc() + "\n")
    return path


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def read_tile(lab: Lab, schema: str) -> tuple[Decimal | None, str | None]:
    try:
        return money.exact(api.tile(lab, schema)), None
    except psycopg.OperationalError:
        raise  # the warehouse is gone: the lab's trouble, not the model's
    except psycopg.Error as exc:
        return None, _first_line(exc)


def _ids_exist(lab: Lab):
    def lookup(ids: list[int]) -> list[int]:
        with lab.warehouse.connect("warehouse") as conn:
            rows = conn.execute("select order_id from raw.orders where order_id = any(%s)", (ids,)).fetchall()
        return [int(r[0]) for r in rows]
    return lookup


class _Run:
    """A check's private things: its schema, its folder, the checker's copy of the project, and the dbt
    processes (the learner's build, the regression guard's) started before the shop is paused, so dbt
    imports and parses while the check waits for the pipeline. They run no SQL until `_judge` says so."""

    def __init__(self, lab: Lab, opts: Options, report: Report) -> None:
        self.lab, self.opts = lab, opts
        self.schema = builder.new_schema()
        self.work = lab.settings.lab_dir / "checks" / "runs" / self.schema
        report.lab["schema"] = self.schema
        self.refused: project.Refused | None = None
        self.session: dbt.Session | None = None
        self.guard: guard.Guard | None = None

    def __enter__(self) -> _Run:
        try:
            copy = project.copy(self.opts.project_dir, self.work / "project")
        except project.Refused as why:
            self.refused = why
            return self
        self.session = builder.start(self.lab, copy, self.schema, self.work / "dbt")
        if self.opts.guard:
            self.guard = guard.Guard(self.lab, copy, self.schema, self.work, self.opts.timeout)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.guard is not None:
            self.guard.cancel()
        if self.session is not None:
            self.session.close()
        privileges.reset_role_settings(self.lab)  # what the learner's hooks set on their roles ends with the check
        if not self.opts.keep:
            builder.drop_schemas(self.lab, [self.schema, *guard.schemas_for(self.schema)])
            shutil.rmtree(self.work, ignore_errors=True)


def _judge(lab: Lab, opts: Options, report: Report, run_: _Run) -> None:
    settings = lab.settings
    with timed(report, "prepare"):
        builder.drop_leftovers(lab, keep=run_.schema)
        privileges.reset_role_settings(lab)
        privileges.require_guards(lab)
        base = shipped_tests.base_manifest(settings, opts.base_project or api.shipped_project(settings))
    if run_.refused is not None:
        report.criteria.append(judged(2, False, f"the checker refused your project: {run_.refused}",
                                      ["the checker's copy of your project"]))
        for number in (3, 4, 5, 6):
            report.criteria.append(not_reached(number, "your project was refused (criterion 2)"))
        return
    if run_.guard is not None:
        run_.guard.start()  # its builds may run now: the roles' settings are cleared
    _judge_project(lab, opts, report, run_.session, run_.guard, run_.work, base)


def _judge_project(lab: Lab, opts: Options, report: Report, session, checker_guard: guard.Guard | None, work: Path,
                   base: dict) -> None:
    """Order of work, and why: the build, the tile read at once (before any test runs), the tests; then the
    live probe. The regression guard's builds started with the check, in a process of their own: they run
    meanwhile and are collected last."""
    with timed(report, "watermark"):
        watermark.settle(lab)
    erp0 = api.erp(lab)
    with timed(report, "build"):
        main = builder.models(lab, session, work / "main", opts.timeout)
        # The tile is read before the tests run: nothing the test role does can reach the figure judged.
        tile0, why = read_tile(lab, main.schema) if main.models_ok else (None, None)
    with timed(report, "tests"):
        builder.tests(lab, session, main, work / "main", opts.timeout)
    report.criteria.append(judge_build.judge(main, base))
    parsed = bool(main.manifest)
    report.lab.update({"erp_q2": str(erp0), "tile_q2": None if tile0 is None else str(tile0)})
    report.criteria.append(_tile_vs_erp(main.models_ok, tile0, erp0, why))
    if parsed:
        report.criteria.append(shipped_tests.judge(base, main.manifest))
    else:
        report.criteria.append(not_reached(6, "dbt could not parse your project (criterion 2)"))
    if main.models_ok and tile0 is not None:
        try:
            with timed(report, "probe"):
                report.criteria.append(_probe(lab, opts, session, main, work, erp0, tile0, report))
        except CheckError as err:
            report.criteria.append(errored(4, err))
    else:
        report.criteria.append(not_reached(4, "the tile could not be built (criteria 2 and 3)"))
    if parsed:
        with timed(report, "scan"):
            findings = honesty.scan(main, honesty.figures(lab, erp0), _ids_exist(lab), honesty.erp_relations(lab))
            findings += honesty.from_leaks(privileges.leaks(lab))
        report.criteria.append(honesty.judge(findings, main.models_ok))
    else:
        report.criteria.append(not_reached(5, "dbt could not parse your project (criterion 2)"))
    if checker_guard is not None:
        with timed(report, "guard (waiting for it)"):
            report.criteria.append(checker_guard.result(main))
    else:
        report.criteria.append(not_judged(None, "not run (--no-guard)", max_score=float(len(guard.VARIANTS))))


def _tile_vs_erp(built: bool, tile: Decimal | None, erp: Decimal, why: str | None) -> Criterion:
    mechanism = ["tile vs ERP at one watermark (warehouse = OLTP row for row, ERP export current)"]
    if not built:
        return not_reached(3, "the models did not build (criterion 2)")
    if tile is None:
        return judged(3, False, f"the tile cannot be read from your revenue_quarterly: {why}", mechanism)
    if tile == erp:
        return judged(3, True, f"tile {money.fmt(tile)} = ERP {money.fmt(erp)}, to the cent", mechanism,
                      tile=str(tile), erp=str(erp))
    return judged(3, False, f"tile {money.fmt(tile)} ≠ ERP {money.fmt(erp)} (Δ {money.signed(tile - erp)})",
                  mechanism, tile=str(tile), erp=str(erp), delta=str(tile - erp))


def _probe(lab: Lab, opts: Options, session, main: builder.Build, work: Path, erp0: Decimal, tile0: Decimal,
           report: Report) -> Criterion:
    seed = opts.probe_seed if opts.probe_seed is not None else probe.new_seed()
    p = probe.make(lab, seed)
    report.lab["probe"] = p.as_dict()
    erp_delta = probe.erp_moved(lab, erp0, p)
    cdc_s = watermark.wait_rows(lab, p.order_ids)
    try:
        api.wait_in_sync(lab, 60)
    except LabError as exc:
        raise CheckError(exc.problem, "`lab status` shows which component is behind; run the check again") \
            from exc
    report.lab["probe"]["cdc_wait_s"] = round(cdc_s, 2)
    mechanism = ["live probe through the orders service"]
    rebuild = builder.build_models(lab, session, work / "probe", opts.timeout)
    if not rebuild.run.ok:
        return judged(4, False, f"after the probe ({p.summary()}) your models did not rebuild", mechanism)
    tile1, why = read_tile(lab, main.schema)
    if tile1 is None:
        return judged(4, False, f"after the probe the tile cannot be read: {why}", mechanism)
    tile_delta = tile1 - tile0
    report.lab["probe"].update({"erp_delta": str(erp_delta), "tile_delta": str(tile_delta)})
    if tile_delta == erp_delta:
        return judged(4, True, f"ERP moved {money.signed(erp_delta)}, tile moved {money.signed(tile_delta)} "
                               f"({p.summary()})", mechanism)
    return judged(4, False, f"ERP moved {money.signed(erp_delta)} but the tile moved {money.signed(tile_delta)}: "
                            f"{probe.explain_gap(p, tile_delta)} ({p.summary()})", mechanism)
