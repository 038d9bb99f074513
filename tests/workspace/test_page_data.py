"""What the page shows, from the incident API's answers (no lab): money exact, the drift by day, six
symptoms, the component map, Ship the fix streamed and then the postmortem, the facilitator's reset."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest

from lab.workspace import actions, money, view
from lab.workspace.app import create_app
from lab.workspace.live import Poller
from tests.workspace.fakes import BASE, PORT, TOKEN, FakeBackend, FakeClock, TestClient, guard_report

pytestmark = pytest.mark.unit
AUTH = {"Authorization": f"token {TOKEN}"}
ACTION = {**AUTH, "X-Lab-Action": "1"}


@pytest.mark.parametrize(("value", "exact", "short"), [
    ("4206000.00", "$4,206,000.00", "$4.21M"),
    ("3690000.00", "$3,690,000.00", "$3.69M"),
    ("516000.00", "$516,000.00", "$516k"),
    ("86705.14", "$86,705.14", "$87k"),
    ("-339.56", "\u2212$339.56", "\u2212$340"),
    ("0.005", "$0.01", "$0"),
])
def test_money_is_exact_and_short(value, exact, short):
    assert money.exact(Decimal(value)) == exact
    assert money.short(Decimal(value)) == short


def test_the_gap_is_signed_and_says_which_way():
    f = view.figures({"tile": Decimal("4206000.00"), "erp": Decimal("3690000.00")}, "2026-Q2")
    assert (f["tile"]["short"], f["erp"]["short"], f["gap"]["short"]) == ("$4.21M", "$3.69M", "+$516k")
    assert f["gap"]["value"] == "516000.00" and f["gap"]["direction"] == "overstated"
    assert view.figures({"tile": None, "erp": Decimal("1")}, "q")["gap"]["exact"] == "n/a"


def test_the_chart_shows_the_drift_day_by_day_to_the_cent():
    rows = view.chart(FakeBackend().revenue_by_day())
    assert [r["drift"] for r in rows] == ["0.00", "86705.14", "87112.56"]
    assert rows[-1]["gap"] == "173817.70"  # 4010448.27 - 3836630.57, exact
    assert view.drift_days(rows) == ["2026-06-20", "2026-06-21"]
    assert view.drift_summary(rows) == "1 day of drift: +$87k, about +$87k a day · today so far +$87k"


def test_six_symptoms_each_with_evidence():
    b = FakeBackend()
    report = b.status()
    cards = view.symptoms(report.incident, report.connectors, report.sink_lag, view.History.new())
    assert [c["key"] for c in cards] == ["tile", "rows", "cdc", "dbt", "alerts", "schema"]
    assert all(c["evidence"] for c in cards)
    signals = {c["key"]: c["signal"] for c in cards}
    assert signals["tile"] == "red" and all(v == "green" for k, v in signals.items() if k != "tile")
    cdc = next(c for c in cards if c["key"] == "cdc")
    assert "0 ms" in cdc["claim"] and "commit timestamps" in cdc["note"]
    assert any("refunded_at" in v for _, v in cards[-1]["evidence"])


def test_the_map_has_the_pipeline_and_the_erp_path_and_goes_red_with_a_component():
    b = FakeBackend()
    report = b.status()
    history = view.History.new()
    for t, offset in ((0.0, 100), (2.0, 110), (4.0, 130)):
        history.offsets["shop.public.orders"].add(t, offset)
        history.offsets["shop.public.customers"].add(t, 5)
    m = view.component_map(report.components, report.connectors, report.end_offsets, report.sink_lag,
                           report.incident, history)
    ids = [b["id"] for b in m["boxes"]]
    assert ids == ["orders", "oltp", "debezium", "kafka", "sink", "warehouse", "dbt", "tile", "erp", "export", "erp_wh"]
    assert all(b["healthy"] for b in m["boxes"])
    kafka = next(b for b in m["boxes"] if b["id"] == "kafka")
    assert kafka["spark"] == [5.0, 10.0]
    report.components[3].healthy = False  # connect
    report.connectors = {"shop-source": "unknown (Connect is down)", "warehouse-sink": "unknown (Connect is down)"}
    m = view.component_map(report.components, report.connectors, report.end_offsets, report.sink_lag,
                           report.incident, history)
    down = {b["id"] for b in m["boxes"] if not b["healthy"]}
    assert down == {"debezium", "sink"}


def test_a_counter_that_starts_again_clears_its_history():
    s = view.Series()
    s.add(0, 100)
    s.add(1, 110)
    s.add(2, 3)  # topics recreated by a reset
    assert list(s.points) == [(2, 3)]


def test_the_poller_reads_everything_the_page_needs():
    ws_app = create_app(FakeBackend(), token=TOKEN, port=PORT, poll=False)
    poller: Poller = ws_app.workspace.poller
    snap = poller.read()
    for key in ("figures", "symptoms", "map", "clock", "components", "healthy", "problems"):
        assert key in snap, key
    assert snap["clock"]["hints_total"] == 6 and snap["clock"]["remaining_s"] == 780.0
    assert snap["problems"] == []
    json.dumps(snap)  # all of it travels as JSON


def _wait(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


@pytest.fixture
def served():
    backend = FakeBackend()
    app = create_app(backend, token=TOKEN, port=PORT, poll=False)
    with TestClient(app, base_url=BASE, raise_server_exceptions=False) as c:
        yield backend, app.workspace, c


def test_ship_streams_each_criterion_then_the_verdict_and_the_postmortem(served):
    backend, ws, client = served
    backend.check_gate.clear()
    seen: list[dict] = []
    original = ws.hub.publish

    def spy(kind, data):
        if kind == "check":
            seen.append(json.loads(json.dumps(data)))  # as it travelled at that moment
        original(kind, data)

    ws.hub.publish = spy
    ws.actions.publish = ws.publish
    r = client.post("/api/ship", headers=ACTION)
    assert r.status_code == 202
    _wait(lambda: len(ws.actions.check_state["criteria"]) == 1)
    again = client.post("/api/ship", headers=ACTION)  # pressed again while it runs
    assert again.status_code == 409 and "a check is running" in again.json()["error"]
    backend.check_gate.set()
    _wait(lambda: not ws.actions.check_state["running"])
    state = ws.actions.check_state
    assert [c["key"] for c in state["criteria"]] == ["build", "tile_equals_erp"]
    assert state["verdict"]["status"] == "pass" and state["verdict"]["time_to_fix"] == "6 min 12 s"
    assert state["verdict"]["hints_used"] == 1
    pm = state["postmortem"]
    assert pm["guard_result"]["score"] == 3.0 and pm["guard_result"]["max_score"] == 4.0
    assert [v["caught"] for v in pm["guard_result"]["variants"]] == [True, False]
    assert "06-19" in pm["changed"]["heading"] and len(pm["others"]["ways"]) == 4
    # the page heard the criteria one by one, before the verdict
    first_with_one = next(i for i, s in enumerate(seen) if len(s["criteria"]) == 1)
    first_with_verdict = next(i for i, s in enumerate(seen) if s["verdict"])
    assert first_with_one < first_with_verdict and seen[first_with_one]["running"]
    assert json.loads(client.get("/api/state", headers=AUTH).text)["check"]["verdict"]["status"] == "pass"


def test_a_failing_check_gives_the_reasons_and_no_postmortem(served):
    backend, ws, client = served
    backend.check_status = "fail"
    assert client.post("/api/ship", headers=ACTION).status_code == 202
    _wait(lambda: not ws.actions.check_state["running"])
    v = ws.actions.check_state["verdict"]
    assert v["status"] == "fail" and any("tile $4,206,000.00" in r for r in v["reasons"])
    assert ws.actions.check_state["postmortem"] is None


def test_a_check_that_stops_without_a_verdict_says_so(served):
    backend, ws, client = served
    backend.check = lambda on_event: 2
    assert client.post("/api/ship", headers=ACTION).status_code == 202
    _wait(lambda: not ws.actions.check_state["running"])
    assert "exit code 2" in ws.actions.check_state["error"]


@pytest.mark.parametrize(("body", "expected"), [({"seed": 77, "keep_code": True}, (77, True)),
                                                ({"seed": None}, (None, False)), ({}, (None, False)),
                                                ({"seed": "42"}, (42, False))])
def test_reset_takes_an_optional_seed(served, body, expected):
    backend, ws, client = served
    assert client.post("/api/reset", headers=ACTION, json=body).status_code == 202
    _wait(lambda: not ws.actions.reset_state["running"])
    assert backend.resets == [expected]


@pytest.mark.parametrize("seed", [-1, "abc", 1.5, True, 2**40, [1]])
def test_reset_refuses_a_seed_that_is_not_one(served, seed):
    backend, ws, client = served
    r = client.post("/api/reset", headers=ACTION, json={"seed": seed})
    assert r.status_code == 400 and not backend.resets


def test_pause_and_resume_the_orders(served):
    backend, ws, client = served
    assert client.post("/api/orders/pause", headers=ACTION).json() == {"orders_paused": True} and backend.paused
    assert client.post("/api/orders/resume", headers=ACTION).json() == {"orders_paused": False}
    assert not backend.paused


def test_the_postmortem_is_data():
    pm = actions.postmortem_text()
    assert pm["green"]["items"] and pm["others"]["ways"]
    text = json.dumps(pm)
    for phrase in ("refunded_at", "arrival, not correctness", "erp.daily_control_totals", "lab_tester"):
        assert phrase in text
    assert actions.guard_summary({"tests": []}) is None
    assert actions.guard_summary(guard_report())["variants"][1]["caught"] is False


def test_component_details_carry_the_log_tail(served):
    backend, ws, client = served
    ws.poller.read()
    d = client.get("/api/components/sink", headers=AUTH).json()
    assert d["component"]["name"] == "connect" and d["log"]["lines"] == "last line of connect"
    assert d["box"]["title"] == "JDBC sink"
    assert client.get("/api/components/nothing", headers=AUTH).status_code == 404


def test_a_reset_from_the_terminal_forgets_the_old_verdict_and_hints(served):
    backend, ws, client = served
    ws.poller.read()
    assert client.post("/api/hint", headers=ACTION).status_code == 200
    assert client.post("/api/ship", headers=ACTION).status_code == 202
    _wait(lambda: not ws.actions.check_state["running"])
    assert ws.actions.check_state["verdict"] and ws.hints_shown
    before = backend.clock()
    again = FakeClock(before.started_at + timedelta(minutes=5), before.story_now, before.board_meeting, 780.0,
                      before.text)
    backend.clock = lambda: again  # `lab reset` in a terminal: the clock started again
    ws.poller.read()
    assert ws.actions.check_state == {"id": 1, "running": False}
    assert ws.hints_shown == []
