"""Reports as the checker and the grader write them, one per situation the reports must tell apart."""

from __future__ import annotations

from checks.outcome import CheckError, Criterion, Report, Status, errored, judged, not_judged, not_reached

GUARD_MAX = 4.0


def _guard(caught: int) -> Criterion:
    return Criterion(None, Status.PASS if caught == GUARD_MAX else Status.FAIL, f"{caught}/4 wrong variants caught",
                     ["your tests run against wrong variants of the models"], score=float(caught), max_score=GUARD_MAX)


def _ok(numbers) -> list[Criterion]:
    return [judged(n, True, f"criterion {n} holds", ["mechanism"]) for n in numbers]


def _lab(rep: Report, **facts) -> Report:
    rep.lab.update({"variant_seed": 516, "time_to_fix_s": 754.2, "hints_used": 1, "probe": {"seed": 9},
                    "timings": {"build": 3.5}, "duration_s": 31.0, **facts})
    return rep


def passed() -> Report:
    return _lab(Report("grade", criteria=[*_ok(range(1, 7)), _guard(3)]), learner="ada")


def failed() -> Report:
    """A wrong fix: the tile is off, the probe not reached; the guard still scored."""
    crit = [*_ok([1, 2]), judged(3, False, "tile $4,206,000.00 ≠ ERP $3,690,000.00 (Δ +$516,000.00)", ["tile vs ERP"]),
            not_reached(4, "the tile could not be built (criteria 2 and 3)"), *_ok([5, 6]), _guard(1)]
    return _lab(Report("grade", criteria=crit), learner="bo")


def not_reached_after_build() -> Report:
    """dbt build failed: criteria 3 to 6 and the guard are not reached."""
    crit = [*_ok([1]), judged(2, False, "models/marts/fct_orders.sql line 5: syntax error (Database Error)", ["dbt"]),
            not_reached(3, "the models did not build (criterion 2)"),
            not_reached(4, "the tile could not be built (criteria 2 and 3)"),
            not_reached(5, "dbt could not parse your project (criterion 2)"),
            not_reached(6, "dbt could not parse your project (criterion 2)"),
            Criterion(None, Status.SKIP, "not run: your models did not build", max_score=GUARD_MAX)]
    return _lab(Report("grade", criteria=crit), learner="cy")


def errored_midway() -> Report:
    """The lab lost CDC during the probe: criteria 1-3, 5, 6 judged, 4 could not be (v3: fail; lab: error)."""
    crit = [*_ok([1, 2, 3]), errored(4, CheckError("CDC did not deliver the probe within 60 s", "run it again")),
            *_ok([5, 6]), _guard(4)]
    return _lab(Report("grade", criteria=crit), learner="dee")


def lab_down() -> Report:
    """`lab check` on a lab whose connector is down: nothing could be judged (v3: error)."""
    rep = Report("check", criteria=[Criterion(1, Status.SKIP, "judged by `lab grade` (it compares your branch "
                                                              "with the base ref)", max_score=1)])
    problem = "the Debezium connector is FAILED"
    rep.error = CheckError(problem, "`lab up` restarts it").line()
    rep.fill_unjudged(problem)
    return rep


def checked_pass_without_guard() -> Report:
    """`lab check --no-guard`: criterion 1 and the guard are out of this run's scope."""
    crit = [Criterion(1, Status.SKIP, "judged by `lab grade` (it compares your branch with the base ref)",
                      max_score=1), *_ok(range(2, 7)),
            Criterion(None, Status.SKIP, "not run (--no-guard)", max_score=GUARD_MAX)]
    return Report("check", criteria=crit)


def marked_not_judged() -> Report:
    crit = [not_judged(1, "judged by `lab grade`"), *_ok(range(2, 7)), not_judged(None, "not run", GUARD_MAX)]
    return Report("check", criteria=crit)


def tampered() -> Report:
    why = "files outside dbt_project/ differ from the base (tampering): .github/workflows/grade.yml, checks/__init__.py"
    crit = [judged(1, False, why, ["file comparison with the base ref"]), *_ok(range(2, 7)), _guard(4)]
    return _lab(Report("grade", criteria=crit), learner="eve")


def broke_after_judging() -> Report:
    """Every criterion passed, then the lab lost a server while cleaning up: not a pass."""
    rep = Report("grade", criteria=[*_ok(range(1, 7)), _guard(4)])
    rep.error = "lost a database connection (server closed the connection unexpectedly) — not your fault; run it again"
    return rep


CASES = {f.__name__: f for f in (passed, failed, not_reached_after_build, errored_midway, lab_down,
                                  checked_pass_without_guard, marked_not_judged, tampered, broke_after_judging)}
