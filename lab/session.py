"""The learner's session, with one owner: the variant seed, the clock, the hints used, the first success,
and the incident timeline — kept in the warehouse (`ops.lab_state`, `ops.lab_events`), so it survives
`lab down`/`lab up` and is reset with the data.

Every other module reads and writes the session through `Session` (a typed snapshot) and `SessionStore`
(the verbs that change it); nothing else touches `ops.lab_state`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg

from seed import story

# The keys of ops.lab_state, all written here (and `seed_figures`, written once by the seed loader).
SEED, CLOCK, HINTS, SOLVED, LAB_ID, FIGURES = "seed", "clock", "hints", "solved", "lab_id", "seed_figures"


@dataclass(frozen=True)
class Session:
    seed: int | None = None
    clock_started_at: datetime | None = None
    hints_used: int = 0
    solved: dict[str, Any] | None = None
    lab_id: str | None = None
    seed_figures: dict[str, Any] = field(default_factory=dict)

    def story_now(self, now: datetime | None = None) -> datetime:
        return story.story_now(self.clock_started_at, now) if self.clock_started_at else story.STORY_CLOCK

    def elapsed_s(self, now: datetime | None = None) -> float | None:
        if not self.clock_started_at:
            return None
        return round(((now or datetime.now(UTC)) - self.clock_started_at).total_seconds(), 1)


def set_state(conn: psycopg.Connection, key: str, value: Any) -> None:
    conn.execute("insert into ops.lab_state(key, value) values (%s, %s) "
                 "on conflict (key) do update set value = excluded.value", (key, json.dumps(value)))


def _get(conn: psycopg.Connection, key: str) -> Any:
    row = conn.execute("select value from ops.lab_state where key = %s", (key,)).fetchone()
    return row[0] if row else None


def read(conn: psycopg.Connection) -> Session:
    rows = dict(conn.execute("select key, value from ops.lab_state").fetchall())
    clock = rows.get(CLOCK) or {}
    return Session(seed=rows.get(SEED), hints_used=int((rows.get(HINTS) or {}).get("used", 0)),
                   clock_started_at=datetime.fromisoformat(clock["started_at"]) if clock.get("started_at") else None,
                   solved=rows.get(SOLVED), lab_id=rows.get(LAB_ID), seed_figures=rows.get(FIGURES) or {})


class SessionStore:
    """The verbs that change the session. `connect()` gives a superuser connection to the warehouse."""

    def __init__(self, connect) -> None:
        self._connect = connect

    def read(self) -> Session:
        with self._connect() as conn:
            return read(conn)

    def try_read(self) -> Session | None:
        try:
            return self.read()
        except psycopg.Error:
            return None

    def begin(self, seed: int, lab_id: str | None) -> None:
        """A fresh incident (first `lab up`, `lab reset`): the variant, no hints, no success, clock running."""
        with self._connect() as conn:
            set_state(conn, SEED, seed)
            set_state(conn, HINTS, {"used": 0})
            conn.execute("delete from ops.lab_state where key = %s", (SOLVED,))
            if lab_id:
                set_state(conn, LAB_ID, lab_id)
        self.start_clock()

    def start_clock(self) -> None:
        """The 13 minutes start when the learner lands in the incident, not when the data was loaded."""
        with self._connect() as conn:
            set_state(conn, CLOCK, {"started_at": datetime.now(UTC).isoformat()})
        self.record("up", note="the clock starts: Friday 08:47, 13 minutes to the board meeting")

    def use_hint(self, total: int) -> int:
        """The number of the hint to show now (one more than before, at most `total`)."""
        with self._connect() as conn, conn.transaction():
            used = int((_get(conn, HINTS) or {}).get("used", 0))
            number = min(used + 1, total)
            set_state(conn, HINTS, {"used": number})
        self.record("hint", number=number)
        return number

    def record_solved(self, facts: dict[str, Any]) -> bool:
        """Keep the first success only: the time to fix is the time to the first passing check."""
        with self._connect() as conn, conn.transaction():
            if _get(conn, SOLVED) is not None:
                return False
            set_state(conn, SOLVED, {**facts, "at": datetime.now(UTC).isoformat()})
        return True

    def set_lab_id(self, lab_id: str) -> None:
        with self._connect() as conn:
            set_state(conn, LAB_ID, lab_id)

    # the incident timeline (lab debrief) ---------------------------------------------------------------
    def record(self, kind: str, **detail: Any) -> None:
        """One event of the learner's, on the wall clock (the story clock is derived when shown)."""
        try:
            with self._connect() as conn:
                conn.execute("insert into ops.lab_events(kind, detail) values (%s, %s)", (kind, json.dumps(detail)))
        except psycopg.errors.UndefinedTable:
            pass  # a lab seeded before the timeline existed: `lab reset` adds it

    def events(self) -> list[dict[str, Any]]:
        try:
            with self._connect() as conn:
                rows = conn.execute("select at, kind, detail from ops.lab_events order by at, event_id").fetchall()
        except psycopg.errors.UndefinedTable:
            return []
        return [{"at": at, "kind": kind, **(detail or {})} for at, kind, detail in rows]

    def first(self, kind: str) -> dict[str, Any] | None:
        return next((e for e in self.events() if e["kind"] == kind), None)
