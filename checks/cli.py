"""`lab check` and `lab grade` (also `python -m checks check|grade`): thin click commands."""

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
def check(project_dir: Path | None, probe_seed: int | None, timeout: float, no_guard: bool, out: Path | None) -> None:
    """Is your fix real? Build dbt_project/, then decide each criterion (exit 0 pass, 1 fail, 2 lab error)."""
    from checks import checker, health, render, reports
    from lab.config import settings as load_settings
    from lab.stack import build

    settings = load_settings()
    project = (project_dir or settings.root / "dbt_project").resolve()
    health.require_healthy_or_exit(build(settings))  # one line and exit 2 before anything else is printed
    render.header(str(project), "check")
    rep = checker.run(settings, checker.Options(project, probe_seed=probe_seed, timeout=timeout, guard=not no_guard))
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
def grade(targets: tuple[str, ...], base: str, out: Path, repo: Path | None, probe_seed: int | None, timeout: float,
          no_reset: bool, no_guard: bool, base_label: str | None) -> None:
    """Grade git refs, directories or patch files (default HEAD) against --base, from a trusted copy of it."""
    from checks import grade as grading

    code = grading.main(list(targets) or ["HEAD"], base=base, out=out, repo=repo, probe_seed=probe_seed,
                        timeout=timeout, reset=not no_reset, guard=not no_guard, base_label=base_label)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main_group() -> None:
    """The lab's checker and grader (run from a trusted copy by `lab grade`)."""


main_group.add_command(check)
main_group.add_command(grade)


def main() -> None:
    """Like `lab`: a LabError is one line and its exit code."""
    from lab import ui
    from lab.errors import LabError

    try:
        main_group.main(standalone_mode=False)
    except LabError as exc:
        if exc.detail:
            ui.err_console.print(exc.detail, markup=False, style="dim")
        ui.err_console.print(exc.line(), markup=False, style="bold red")
        sys.exit(exc.code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.USAGE)
    except (click.exceptions.Abort, KeyboardInterrupt):
        ui.err_console.print("Error: interrupted — run the command again", style="bold red")
        sys.exit(130)
