"""What a check decides: one Criterion per line of LAB_SPEC §6, and the Report that holds them.

Three outcomes are never confused: PASS, FAIL (the patch is wrong, and why) and ERROR (the lab could not
judge — not the learner's fault). SKIP marks a criterion this mode does not judge (criterion 1 in
`lab check`) or one not reached because an earlier one made it impossible to judge.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Status(str, enum.Enum):
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
        if self.error or any(c.status is Status.ERROR for c in required):
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
    def score(self) -> float:
        return sum(c.score for c in self.criteria)

    @property
    def max_score(self) -> float:
        return sum(c.max_score for c in self.criteria)
