"""What a check decides: one Criterion per line of LAB_SPEC §6, and the Report that holds them.

Three outcomes are never confused: PASS, FAIL (the patch is wrong, and why) and ERROR (the lab could not
judge — not the learner's fault). SKIP marks a criterion this run does not judge at all (criterion 1 in
`lab check`, the regression guard under `--no-guard`: `Report.out_of_scope`) or one not reached because an
earlier one made it impossible to judge.

A grade's score is 0 unless every required criterion passes (LAB_SPEC §6): `Report.score` is the points
awarded, `Report.points_earned` what the criteria earned on their own.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Status(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"


# number -> (key, title). The regression guard has no number: it is scored, not required.
CRITERIA: dict[int, tuple[str, str]] = {
    1: ("only_dbt_project", "only dbt_project/ differs from the base"),
    2: ("build", "dbt build succeeds (models as lab_transformer, tests as lab_tester)"),
    3: ("tile_equals_erp", "the tile equals the ERP to the cent, at one watermark"),
    4: ("live_probe", "live probe: the tile moves exactly as the ERP does"),
    5: ("honest", "honest fix: no ERP reads, no literals or id lists standing in for the logic"),
    6: ("shipped_tests", "shipped tests present and as strict; dbt ran with the checker's profile"),
}
GUARD_KEY, GUARD_TITLE = "regression_guard", "regression guard (scored): your tests catch broken models"


class CheckError(Exception):
    """The lab could not judge (a component down, the pipeline did not settle): outcome ERROR."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix

    def line(self) -> str:
        return f"{self.problem} — not your fault; {self.fix}"


@dataclass
class Criterion:
    number: int | None  # None: the regression guard
    status: Status
    message: str
    caught_by: list[str] = field(default_factory=list)  # which mechanism decided it (static scan, probe, …)
    score: float = 0.0
    max_score: float = 1.0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return CRITERIA[self.number][0] if self.number else GUARD_KEY

    @property
    def title(self) -> str:
        return CRITERIA[self.number][1] if self.number else GUARD_TITLE

    @property
    def required(self) -> bool:
        return self.number is not None

    @property
    def label(self) -> str:
        return f"{self.number}. {self.title}" if self.number else self.title


def judged(number: int, ok: bool, message: str, caught_by: list[str] | None = None, **details: Any) -> Criterion:
    return Criterion(number, Status.PASS if ok else Status.FAIL, message, caught_by or [], score=1.0 if ok else 0.0,
                     details=details)


def not_reached(number: int, why: str) -> Criterion:
    return Criterion(number, Status.SKIP, f"not reached: {why}")


NOT_JUDGED = "not_judged"  # a details key: this run does not judge the criterion at all (not a failure)


def not_judged(number: int | None, why: str, max_score: float = 1.0) -> Criterion:
    """A criterion outside this run's scope (criterion 1 in `lab check`, the guard under `--no-guard`): the
    reports leave it out of the tests and the score instead of calling it passed or failed."""
    return Criterion(number, Status.SKIP, why, max_score=max_score, details={NOT_JUDGED: True})


def errored(number: int | None, err: CheckError) -> Criterion:
    return Criterion(number, Status.ERROR, err.line())


@dataclass
class Report:
    mode: str  # "check" or "grade"
    criteria: list[Criterion] = field(default_factory=list)
    error: str | None = None  # set when the lab could not judge at all
    lab: dict[str, Any] = field(default_factory=dict)  # seed, time to fix, hints, probe, target, base, …

    def criterion(self, number: int | None) -> Criterion | None:
        return next((c for c in self.criteria if c.number == number), None)

    def out_of_scope(self, c: Criterion) -> bool:
        """Not judged by this run at all (as opposed to not reached): `not_judged(...)`, or the two forms
        the checker wrote before that marker existed — criterion 1 in `lab check` (only `lab grade` has a
        base to compare with) and the regression guard under `--no-guard`."""
        if c.status is not Status.SKIP:
            return False
        if c.details.get(NOT_JUDGED):
            return True
        return (c.number == 1 and self.mode == "check") or (c.number is None and "--no-guard" in c.message)

    @property
    def in_scope(self) -> list[Criterion]:
        """The criteria this run judged or tried to: what the reports list as tests, in order."""
        return [c for c in self.criteria if not self.out_of_scope(c)]

    def fill_unjudged(self, problem: str | None) -> None:
        """Every required criterion the check did not get to is an ERROR, saying why; then in order."""
        for number in CRITERIA:
            if self.criterion(number) is None:
                self.criteria.append(Criterion(number, Status.ERROR, f"not judged: {problem or 'the check stopped'}"))
        self.criteria.sort(key=lambda c: (c.number is None, c.number or 0))

    @property
    def status(self) -> Status:
        """FAIL wins over ERROR: a criterion that really failed is a verdict even if another could not be
        judged. A criterion not reached counts only through the one that failed before it."""
        required = [c for c in self.criteria if c.required]
        if any(c.status is Status.FAIL for c in required):
            return Status.FAIL
        # A scored criterion that could not be judged leaves the grade incomplete: the lab's trouble too.
        if self.error or any(c.status is Status.ERROR for c in self.criteria):
            return Status.ERROR
        # `lab check` does not judge criterion 1 (only `lab grade` has a base to compare with).
        excused = {1} if self.mode == "check" else set()
        complete = {c.number for c in required} == set(CRITERIA)
        if complete and all(c.status is Status.PASS or (c.status is Status.SKIP and c.number in excused)
                            for c in required):
            return Status.PASS
        return Status.ERROR

    @property
    def first_failure(self) -> Criterion | None:
        return next((c for c in self.criteria if c.required and c.status is Status.FAIL), None)

    @property
    def points_earned(self) -> float:
        """What the criteria in scope earned on their own, whatever the verdict."""
        return sum(c.score for c in self.in_scope)

    @property
    def score(self) -> float:
        """The grade's points: 0 unless every required criterion passes (LAB_SPEC §6)."""
        return self.points_earned if self.status is Status.PASS else 0.0

    def awarded(self, c: Criterion) -> float:
        """A criterion's share of the grade's points (0 for all of them unless the grade passes)."""
        return c.score if self.status is Status.PASS and not self.out_of_scope(c) else 0.0

    @property
    def max_score(self) -> float:
        return sum(c.max_score for c in self.in_scope)
