"""The workspace's long actions, each in a thread of its own so the page stays live while they run:
"Ship the fix" (the same check as `lab check`, its criteria streamed as they are decided) and the
facilitator's reset. One at a time: a check and a reset would fight over the lab."""

from __future__ import annotations

import logging
import threading
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lab.clock import fmt_duration
from lab.errors import LabError

log = logging.getLogger("workspace")
POSTMORTEM = Path(__file__).resolve().parent / "postmortem.toml"
Publish = Callable[[str, dict[str, Any]], None]


class Busy(Exception):
    """Another action is running; the message says which."""


def postmortem_text() -> dict[str, Any]:
    return tomllib.loads(POSTMORTEM.read_text())


def guard_summary(report: dict[str, Any]) -> dict[str, Any] | None:
    """The regression guard of a report: score and what each wrong variant did against the learner's tests."""
    test = next((t for t in report.get("tests", []) if t.get("key") == "regression_guard"), None)
    if test is None:
        return None
    variants = (test.get("details") or {}).get("variants") or []
    return {"score": test.get("earned", test.get("score")), "max_score": test.get("max_score"),
            "message": test.get("message") or test.get("explanation"),
            "variants": [{"variant": v.get("variant"), "description": v.get("description"),
                          "caught": bool(v.get("caught")), "caught_by": list(v.get("caught_by") or []),
                          "problem": v.get("problem")} for v in variants]}


def verdict(status: str, report: dict[str, Any]) -> dict[str, Any]:
    """The verdict with its reasons, as the page shows it."""
    lab = report.get("lab") or {}
    reasons = []
    for t in report.get("tests", []):
        if t.get("required") and t.get("status") != "pass":
            reasons.append(f"{t.get('name')}: {t.get('message') or t.get('explanation') or t.get('status')}")
    if status == "error" and report.get("message"):
        reasons.insert(0, report["message"])
    if status == "pass":
        reasons = ["every required criterion passed: the tile equals the ERP to the cent and moves exactly as "
                   "the ERP does, with an honest fix and the shipped tests intact"]
    ttf = lab.get("time_to_fix_s")
    return {"status": status, "reasons": reasons, "time_to_fix_s": ttf, "time_to_fix": fmt_duration(ttf),
            "hints_used": lab.get("hints_used"), "guard": guard_summary(report),
            "duration": fmt_duration(lab.get("duration_s"))}


class Actions:
    """The check and the reset. `backend` is the incident API (lab/workspace/backend.py); `publish(kind, data)`
    hands an update to every open page and may be called from any thread."""

    def __init__(self, backend, publish: Publish) -> None:
        self.backend = backend
        self.publish = publish
        self._lock = threading.Lock()
        self._busy: str | None = None
        self._check_id = 0
        self.check_state: dict[str, Any] = {"id": 0, "running": False}
        self.reset_state: dict[str, Any] = {"running": False}

    # one action at a time -----------------------------------------------------------------------------
    def _claim(self, what: str) -> None:
        with self._lock:
            if self._busy:
                raise Busy(f"{self._busy} is running — wait for it to finish")
            self._busy = what

    def _release(self) -> None:
        with self._lock:
            self._busy = None

    @property
    def busy(self) -> str | None:
        return self._busy

    # Ship the fix ---------------------------------------------------------------------------------------
    def ship(self) -> dict[str, Any]:
        self._claim("a check")
        self._check_id += 1
        self.check_state = {"id": self._check_id, "running": True, "started_at": time.time(), "phase": "starting",
                            "phases": [], "criteria": [], "verdict": None, "postmortem": None, "error": None}
        self.publish("check", self.check_state)
        threading.Thread(target=self._run_check, name=f"check-{self._check_id}", daemon=True).start()
        return {"started": True, "id": self._check_id}

    def _on_event(self, event: dict[str, Any]) -> None:
        state = self.check_state
        kind = event.get("event")
        if kind == "phase":
            state["phase"] = event.get("name")
            state["phases"].append(event.get("name"))
        elif kind == "criterion":
            state["criteria"].append({k: event.get(k) for k in ("number", "key", "title", "status", "message",
                                                                 "score", "max_score", "required")})
        elif kind == "report":
            report = event.get("report") or {}
            state["verdict"] = verdict(str(event.get("status")), report)
            if event.get("status") == "pass":
                state["postmortem"] = {**postmortem_text(), "guard_result": state["verdict"]["guard"]}
        elif kind == "error":  # the checker stopped before a verdict: its own one line says why
            state["error"] = str(event.get("message") or "the check stopped without a verdict")
        else:
            return
        self.publish("check", state)

    def _run_check(self) -> None:
        state = self.check_state
        try:
            code = self.backend.check(self._on_event)
            if state["verdict"] is None and not state.get("error"):
                state["error"] = (f"the check stopped without a verdict (exit code {code}): is the lab healthy? "
                                  "`bin/lab status` says; `bin/lab check` in a terminal shows the whole story")
        except Exception as exc:  # noqa: BLE001 - the page must hear how it ended
            log.exception("the check failed")
            state["error"] = f"the check could not run ({type(exc).__name__}); see the workspace log"
        finally:
            state["running"] = False
            state["finished_at"] = time.time()
            state["phase"] = None
            self._release()
            self.publish("check", state)

    # the facilitator's reset ----------------------------------------------------------------------------
    def reset(self, seed: int | None, keep_code: bool) -> dict[str, Any]:
        self._claim("a reset")
        self.reset_state = {"running": True, "seed": seed, "keep_code": keep_code, "started_at": time.time(),
                            "error": None}
        self.publish("reset", self.reset_state)
        threading.Thread(target=self._run_reset, args=(seed, keep_code), name="reset", daemon=True).start()
        return {"started": True}

    def forget_verdict(self) -> None:
        """A new incident (a reset): the last verdict and postmortem belong to the old one."""
        if not self.check_state.get("running"):
            self.check_state = {"id": self._check_id, "running": False}
            self.publish("check", self.check_state)

    def _run_reset(self, seed: int | None, keep_code: bool) -> None:
        try:
            self.backend.reset(seed, keep_code)
            self.forget_verdict()
        except LabError as exc:
            log.warning("reset failed: %s", exc.line())
            self.reset_state["error"] = exc.line()
        except Exception as exc:  # noqa: BLE001
            log.exception("reset failed")
            self.reset_state["error"] = f"the reset failed ({type(exc).__name__}); see the workspace log"
        finally:
            self.reset_state["running"] = False
            self.reset_state["finished_at"] = time.time()
            self._release()
            self.publish("reset", self.reset_state)
