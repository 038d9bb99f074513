"""`lab grade [REF|DIR|PATCH …] --base REF --out DIR`: judge learners' work from a trusted copy of the base.

Per target: materialize its dbt_project/ and list what differs outside it (criterion 1), reset the lab
with the trusted code (the stack keeps running between targets), run the checker, write JSON, JUnit XML
and Markdown reports. Exit code: 0 all passed, 1 a target failed, 2 the lab could not judge one.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Any

from checks import checker, redact, render, reports, state, targets, trusted
from checks.outcome import CheckError, Report, Status
from lab import api, ui
from lab.config import Settings
from lab.config import settings as load_settings
from lab.errors import ExitCode, LabError


def main(specs: list[str], *, base: str, out: Path, repo: Path | None, probe_seed: int | None, timeout: float,
         reset: bool, guard: bool, base_label: str | None = None, facts: dict[str, str] | None = None,
         session: bool = True) -> int:
    """`facts` are written into each report's `lab` object as they are (the instructor's roster names the
    learner, repository, ref and commit this way); `session=False` when the lab graded on is not the
    learner's own (their time to fix and hints are on their machine, not here)."""
    settings = load_settings()
    repo = (repo or trusted.toplevel(settings.root) or trusted.toplevel(Path.cwd()) or Path.cwd()).resolve()
    base_sha = trusted.resolve(repo, base)
    if not trusted.is_trusted():
        root = trusted.prepare(repo, base_sha, settings)
        ui.info(f"[dim]grading with the trusted checker of {base} ({base_sha[:12]}) from {root}[/]")
        argv = ["grade", *[str(Path(s).resolve()) if Path(s).exists() else s for s in specs],
                "--base", base_sha, "--out", str(out.resolve()), "--repo", str(repo), "--timeout", str(timeout)]
        argv += ["--probe-seed", str(probe_seed)] if probe_seed is not None else []
        argv += [] if reset else ["--no-reset"]
        argv += [] if guard else ["--no-guard"]
        argv += ["--base-label", base_label or base]
        argv += [arg for key, value in (facts or {}).items() for arg in ("--fact", f"{key}={value}")]
        argv += [] if session else ["--no-session"]
        return trusted.reexec(root, argv, settings)

    trusted.verify_self()
    # The learner's time to fix and hints are read once, before the first reset wipes them; they belong
    # to the lab's session, so only a single target can claim them.
    if not session:
        learner = {**_UNKNOWN, "time_to_fix_source": "unknown: not graded on the learner's own lab"}
    elif len(specs) == 1:
        learner = _learner_session(settings)
    else:
        learner = {**_UNKNOWN, "time_to_fix_source": "unknown: several targets graded"}
    codes = []
    folders = [f"{i:02d}-{_slug(spec)}" for i, spec in enumerate(specs, 1)]
    for spec, folder in zip(specs, folders, strict=True):
        dest = out if len(specs) == 1 else out / folder
        codes.append(grade_one(settings, spec, repo=repo, base_sha=base_sha, base_label=base_label or base,
                               out=dest, probe_seed=probe_seed, timeout=timeout, reset=reset, guard=guard,
                               session=learner, facts=facts))
    if len(specs) > 1:
        summaries = [out / folder / reports.MARKDOWN_NAME for folder in folders]
        (out / reports.MARKDOWN_NAME).write_text("\n".join(p.read_text() for p in summaries if p.exists()))
    if any(c == ExitCode.LAB_UNHEALTHY for c in codes):
        return ExitCode.LAB_UNHEALTHY
    return ExitCode.FAILED if any(codes) else ExitCode.OK


def _slug(spec: str) -> str:
    """A folder name for a target's reports: a file's or folder's name, or the ref."""
    name = Path(spec).name if Path(spec).exists() else spec
    return re.sub(r"[^\w.-]+", "_", name).strip("_") or "target"


# The learner's session facts (their lab's clock), which the grader's reset would wipe; None when unknown.
SESSION_KEYS = ("time_to_fix_s", "hints_used", "time_to_detect_s", "attempts")
_UNKNOWN: dict[str, Any] = dict.fromkeys(SESSION_KEYS)


def _learner_session(settings: Settings) -> dict[str, Any]:
    """Time to fix, hints, time to detect and attempts from the learner's own lab, read before the reset
    wipes them: their first passing `lab check` if there was one, else the lab clock as it stands."""
    lab = api.open(settings)
    if not lab.warehouse.pid():
        return {**_UNKNOWN, "time_to_fix_source": None}
    s = state.session(lab)
    timeline = {"time_to_detect_s": s.get("time_to_detect_s"), "attempts": s.get("attempts")}
    if s.get("solved"):
        return {"time_to_fix_s": s["solved"].get("time_to_fix_s"), "hints_used": s["solved"].get("hints_used"),
                **timeline, "time_to_fix_source": "first passing `lab check` on the learner's lab"}
    return {"time_to_fix_s": s.get("time_to_fix_s"), "hints_used": s.get("hints_used"), **timeline,
            "time_to_fix_source": "lab clock when grading started (no passing `lab check` recorded)"}


def _ensure_up_and_reset(settings: Settings, reset: bool) -> None:
    lab = api.open(settings)
    if not (lab.warehouse.pid() and lab.oltp.pid()):
        api.up(settings)
    if reset:
        api.reset(settings, keep_code=True)


def grade_one(settings: Settings, spec: str, *, repo: Path, base_sha: str, base_label: str, out: Path,
              probe_seed: int | None, timeout: float, reset: bool, guard: bool, session: dict[str, Any],
              facts: dict[str, str] | None = None) -> int:
    started = time.monotonic()
    work = settings.lab_dir / "grade" / "work" / _slug(spec)
    target = targets.materialize(spec, repo, base_sha, work)
    render.header(f"{target.label} against {base_label} ({base_sha[:12]})", "grade")
    extra = dict(facts or {})  # from the caller (the roster): they win over what the grader found
    facts = {"target": target.label, "target_kind": target.kind, "commit": target.commit,
             "base": f"{base_label} ({base_sha[:12]})", **session}
    try:
        _ensure_up_and_reset(settings, reset)
        rep = checker.run(settings, checker.Options(
            target.project, base_project=trusted.this_root() / "dbt_project", probe_seed=probe_seed, timeout=timeout,
            guard=guard, record=False, mode="grade", criterion1=target.criterion1()))
    except (CheckError, LabError) as exc:
        rep = Report("grade", criteria=[target.criterion1()])
        rep.error = exc.line() if isinstance(exc, CheckError) else f"{exc.problem} — {exc.fix}"
        rep.fill_unjudged(exc.problem)
    except Exception as exc:  # noqa: BLE001 - CI must get its reports even when the grader itself breaks
        rep = Report("grade", criteria=[target.criterion1()])
        rep.error = (f"the grader failed unexpectedly ({type(exc).__name__}: {exc}) — not your fault; "
                     "report it to the lab's maintainers")
        rep.fill_unjudged("the grader failed")
    # The grader's reset restarted the lab clock: the learner's figures are the ones read before it.
    for key in SESSION_KEYS:
        rep.lab.pop(key, None)
    rep.lab.update(facts)
    rep.lab.update(extra)
    rep.lab["duration_s"] = round(time.monotonic() - started, 1)
    # Nothing of the grading machine in a report (an error's text included), whichever way it was made.
    redact.report(rep, {"$LAB_HOME": settings.lab_dir, ".": settings.root, "~": Path.home()})
    render.report(rep)
    files = reports.write(rep, out)
    ui.info(f"reports: {', '.join(str(f) for f in files)}")
    shutil.rmtree(work, ignore_errors=True)
    return {Status.PASS: ExitCode.OK, Status.FAIL: ExitCode.FAILED}.get(rep.status, ExitCode.LAB_UNHEALTHY)
