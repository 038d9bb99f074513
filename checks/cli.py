"""`lab check` and `lab grade` (also `python -m checks check|grade`), and for instructors and facilitators
`python -m checks roster|rollup|classroom`: thin click commands."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from lab.errors import ExitCode

TIMEOUT_HELP = "Seconds a dbt run or test of your project may take before it counts as too slow."


def _exit_code(status) -> int:
    from checks.outcome import Status

    return {Status.PASS: ExitCode.OK, Status.FAIL: ExitCode.FAILED}.get(status, ExitCode.LAB_UNHEALTHY)


@click.command()
@click.option("--project-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="The dbt project to check (default: dbt_project/ of this repo).")
@click.option("--probe-seed", type=int, default=None, help="Replay the live probe of an earlier check.")
@click.option("--timeout", type=float, default=120.0, show_default=True, help=TIMEOUT_HELP)
@click.option("--no-guard", is_flag=True, help="Skip the regression guard (scored, not required; saves ~20 s).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write report.json, report.xml and summary.md to this folder.")
@click.option("--events", type=click.File("w"), default=None, hidden=True,
              help="Write each criterion as a JSON line the moment it is decided (the workspace reads them).")
def check(project_dir: Path | None, probe_seed: int | None, timeout: float, no_guard: bool, out: Path | None,
          events) -> None:
    """Is your fix real? Build dbt_project/, then decide each criterion (exit 0 pass, 1 fail, 2 lab error)."""
    import json

    from checks import checker, health, render, reports
    from lab import api
    from lab.config import settings as load_settings

    settings = load_settings()
    project = (project_dir or settings.root / "dbt_project").resolve()
    lab = api.open(settings)
    health.require_healthy_or_exit(lab)  # one line and exit 2 before anything else is printed

    def emit(event: dict) -> None:
        events.write(json.dumps(event, default=str) + "\n")
        events.flush()

    if events is None:
        render.header(str(project), "check")
    api.record_event(lab, "check", phase="start")
    rep = checker.run(settings, checker.Options(project, probe_seed=probe_seed, timeout=timeout, guard=not no_guard,
                                                on_event=emit if events else None))
    api.record_event(lab, "check", phase="verdict", status=rep.status.value,
                     failed=[c.number for c in rep.criteria if c.required and c.status.value == "fail"])
    if events is not None:
        emit({"event": "report", "status": rep.status.value, "report": reports.as_json(rep)})
    else:
        render.report(rep)
    if out:
        reports.write(rep, out)
    sys.exit(_exit_code(rep.status))


@click.command()
@click.argument("targets", nargs=-1)
@click.option("--base", default="main", show_default=True, help="The base ref: the trusted checker and the "
              "shipped project come from it.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"),
              show_default=True, help="Folder for report.json, report.xml and summary.md.")
@click.option("--repo", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="The git repository holding the refs (default: this checkout).")
@click.option("--probe-seed", type=int, default=None, help="Replay the live probe of an earlier grade.")
@click.option("--timeout", type=float, default=120.0, show_default=True, help=TIMEOUT_HELP)
@click.option("--no-reset", is_flag=True, help="Do not reset the lab before grading (faster; less isolated).")
@click.option("--no-guard", is_flag=True, help="Skip the regression guard.")
@click.option("--base-label", default=None, hidden=True)  # the base as the user named it (set on re-exec)
@click.option("--fact", "facts", multiple=True, hidden=True, metavar="KEY=VALUE",
              help="Written into the report's `lab` object (the roster names the learner this way).")
@click.option("--no-session", is_flag=True, hidden=True,
              help="The lab graded on is not the learner's: their time to fix and hints are unknown here.")
def grade(targets: tuple[str, ...], base: str, out: Path, repo: Path | None, probe_seed: int | None, timeout: float,
          no_reset: bool, no_guard: bool, base_label: str | None, facts: tuple[str, ...], no_session: bool) -> None:
    """Grade git refs, directories or patch files (default HEAD) against --base, from a trusted copy of it."""
    from checks import grade as grading

    pairs = dict(_fact(f) for f in facts)
    code = grading.main(list(targets) or ["HEAD"], base=base, out=out, repo=repo, probe_seed=probe_seed,
                        timeout=timeout, reset=not no_reset, guard=not no_guard, base_label=base_label,
                        facts=pairs or None, session=not no_session)
    sys.exit(code)


def _fact(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"{text!r} is not KEY=VALUE", param_hint="--fact")
    return key, value


@click.command()
@click.argument("roster_file", metavar="ROSTER", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"), show_default=True,
              help="One folder per learner (report.json, report.xml, summary.md), the roll-up beside them.")
@click.option("--base", default="HEAD", show_default=True,
              help="The lab's pinned ref: the trusted checker and the shipped project come from it.")
@click.option("--repo", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="The lab's git repository holding --base (default: this checkout). Never a learner's.")
@click.option("--only", multiple=True, metavar="LEARNER", help="Grade only these learners (repeatable).")
@click.option("--timeout", type=float, default=120.0, show_default=True, help=TIMEOUT_HELP)
@click.option("--no-guard", is_flag=True, help="Skip the regression guard (scored, not required; saves ~20 s each).")
@click.option("--post-status", is_flag=True, help="Post each verdict as a commit status on the learner's commit "
              "(GitHub repositories; token from $LAB_ROSTER_TOKEN).")
@click.option("--status-url", default=None, help="The link of the commit status (e.g. this workflow run).")
@click.option("--status-context", default="lab grade (instructor)", show_default=True,
              help="The commit status's name.")
def roster(roster_file: Path, out: Path, base: str, repo: Path | None, only: tuple[str, ...], timeout: float,
           no_guard: bool, post_status: bool, status_url: str | None, status_context: str) -> None:
    """Grade every learner of a roster (TOML or CSV: learner, repository URL or path, ref): only each
    learner's dbt_project/ is taken, judged by the lab at --base; then one roll-up of all of them.
    Exit 0 when every learner got a verdict (pass or fail), 2 when the lab could not judge one."""
    from checks import roster as roster_mod

    opts = roster_mod.Options(base=base, repo=repo, timeout=timeout, guard=not no_guard, only=list(only),
                              post_status=post_status, status_url=status_url, status_context=status_context)
    sys.exit(roster_mod.run(roster_file, out, opts))


@click.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where rollup.md, rollup.csv and rollup.html go (default: FOLDER).")
@click.option("--all", "every", is_flag=True, help="One row per report (default: each learner's newest).")
def rollup(folder: Path, out: Path | None, every: bool) -> None:
    """One table of a folder of reports (found recursively): learner, verdict, failing criteria, time to
    detect, time to fix, hints, attempts — as Markdown, CSV and a self-contained HTML page."""
    from checks import rollup as rollup_mod

    sys.exit(rollup_mod.main(folder, out, latest=not every))


@click.command(context_settings={"ignore_unknown_options": True}, add_help_option=False)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def classroom(args: tuple[str, ...]) -> None:
    """report.json → the base64 result GitHub Classroom's reporter reads (`python -m checks.classroom -h`)."""
    from checks import classroom as classroom_mod

    sys.exit(classroom_mod.main(list(args)))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main_group() -> None:
    """The lab's checker and grader (run from a trusted copy by `lab grade`)."""


main_group.add_command(check)
main_group.add_command(grade)
main_group.add_command(roster)
main_group.add_command(rollup)
main_group.add_command(classroom)


def main() -> None:
    """Like `lab`: a LabError is one line and its exit code."""
    import os

    from lab import ui

    ui.run_command(main_group, interrupted="run the command again",
                   prog_name=os.environ.get("INCIDENT_LAB_PROG") or "python -m checks")
