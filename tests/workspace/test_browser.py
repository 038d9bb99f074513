"""The workspace in a real browser (Playwright for Python driving Debian's chromium), as a learner uses it:
the incident, a hint, Ship the reference fix with its criteria streamed and the postmortem, and the map
turning red when Kafka Connect is killed and green again after `lab up`. One screenshot per state under
LAB_TEST_ARTEFACTS (default tests/workspace/artefacts/)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.conftest import ROOT, run_lab
from tests.workspace.conftest import artefacts_dir, wait_healthy

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
REFERENCE = ROOT / "tests" / "fixes" / "reference" / "reference.patch"
MIB = 1024 * 1024
RSS_LIMIT_MIB = 100



def _missing(what: str) -> None:
    """No browser here: a skip, or a failure where every tier is required (CI: LAB_REQUIRE_BROWSER=1)."""
    if os.environ.get("LAB_REQUIRE_BROWSER"):
        pytest.fail(f"LAB_REQUIRE_BROWSER is set but {what}")
    pytest.skip(what, allow_module_level=True)


try:
    from playwright import sync_api
except ImportError:  # pragma: no cover - depends on the machine
    _missing("Playwright for Python is not installed (`make venv` installs it with the dev extras)")
expect = sync_api.expect


@pytest.fixture(scope="module")
def browser() -> Iterator:
    if not Path(CHROMIUM).exists():
        _missing("chromium is not installed: `apt-get install -y chromium`")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def page(browser, pristine_workspace):
    lab, base, token = pristine_workspace
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, device_scale_factor=1)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(f"{base}/?token={token}")
    yield pg
    context.close()
    assert not errors, f"the page raised: {errors}"


def shot(pg, name: str, section: str | None = None, through: str | None = None) -> None:
    """The whole page (section None), the window scrolled to a section, or the page from one section to the
    end of another."""
    path = str(artefacts_dir() / name)
    if section is None or through is not None:
        pg.evaluate("window.scrollTo(0, 0)")
    if section is None:
        pg.screenshot(path=path, full_page=True)
        return
    if through is None:
        pg.locator(section).evaluate("el => el.scrollIntoView({block: 'start'})")
        pg.wait_for_timeout(200)
        pg.screenshot(path=path)
        return
    top = pg.locator(section).evaluate("el => el.getBoundingClientRect().top + window.scrollY")
    bottom = pg.locator(through).evaluate("el => el.getBoundingClientRect().bottom + window.scrollY")
    width = pg.viewport_size["width"]
    pg.screenshot(path=path, full_page=True, clip={"x": 0, "y": top - 8, "width": width, "height": bottom - top + 16})


def test_the_incident_as_a_learner_sees_it(page, pristine_workspace):
    assert page.url.endswith("/") and "token" not in page.url  # the token left the address bar
    expect(page.get_by_test_id("tile-short")).to_have_text("$4.21M", timeout=15_000)
    expect(page.get_by_test_id("erp-short")).to_have_text("$3.69M")
    expect(page.get_by_test_id("gap-short")).to_have_text("+$516k")
    expect(page.locator("#tile-exact")).to_have_text("$4,206,000.00")
    expect(page.get_by_test_id("symptom")).to_have_count(6)
    expect(page.locator(".box")).to_have_count(11)
    expect(page.locator('.box[data-healthy="true"]')).to_have_count(11, timeout=15_000)
    expect(page.locator('[data-testid="symptom"][data-key="dbt"]')).to_contain_text("144 consecutive successes")
    expect(page.locator('[data-testid="symptom"][data-key="schema"]')).to_contain_text("refunded_at")
    expect(page.locator('[data-testid="symptom"][data-key="cdc"]')).to_contain_text(" ms")
    expect(page.get_by_test_id("drift-summary")).to_contain_text("6 days of drift: +$516k, about +$86k a day")
    expect(page.locator("#drift rect")).to_have_count(6)  # one bar a day, 06-20 … 06-25
    first = page.get_by_test_id("countdown").inner_text()
    page.wait_for_timeout(1500)
    second = page.get_by_test_id("countdown").inner_text()
    assert re.fullmatch(r"\+?\d\d:\d\d", first) and first != second, (first, second)
    shot(page, "01-incident.png")


def test_the_next_hint(page):
    counter = page.get_by_test_id("hints-used")
    expect(counter).to_have_text(re.compile(r"hints used: 0 / \d+"))
    page.get_by_role("button", name="Next hint").click()
    expect(counter).to_have_text(re.compile(r"hints used: 1 / \d+"), timeout=10_000)
    expect(page.get_by_test_id("hint")).to_have_count(1)
    page.wait_for_timeout(300)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artefacts_dir() / "02-hint.png"))


def _patched_paths(patch: Path) -> list[Path]:
    return sorted({ROOT / m for m in re.findall(r"^diff --git a/(\S+) b/", patch.read_text(), re.M)})


class RssSampler(threading.Thread):
    """The workspace's resident memory, every 0.25 s, while the page is open and a check streams."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.samples: list[int] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                self.samples.append(self.proc.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.25)


def test_ship_the_reference_fix(page, pristine_workspace):
    lab = pristine_workspace[0]
    paths = _patched_paths(REFERENCE)
    saved = {p: p.read_bytes() if p.exists() else None for p in paths}
    sampler = RssSampler(lab.workspace.pid())
    sampler.start()
    try:
        subprocess.run(["git", "apply", str(REFERENCE)], cwd=ROOT, check=True, capture_output=True)
        page.get_by_role("button", name="Ship the fix").click()
        expect(page.get_by_test_id("ship-status")).to_contain_text("Checking", timeout=10_000)
        # the criteria arrive one by one, while the check is still running
        expect(page.get_by_test_id("criterion").first).to_be_visible(timeout=60_000)
        assert page.get_by_test_id("verdict").is_hidden()
        page.locator('[data-testid="criterion"][data-status="pass"]').first.wait_for(timeout=90_000)
        assert page.get_by_test_id("verdict").is_hidden(), "the criteria should be visible before the verdict"
        shot(page, "03-ship-streaming.png", "#ship-section")
        page.get_by_role("button", name="Ship the fix").click()  # pressed again while it runs
        expect(page.locator("#toast")).to_contain_text("a check is running")
        expect(page.get_by_test_id("verdict")).to_contain_text("PASS", timeout=150_000)
    finally:
        for path, data in saved.items():
            if data is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(data)
        sampler.done.set()
        sampler.join()
    assert all((p.read_bytes() if p.exists() else None) == saved[p] for p in paths)
    verdict = page.get_by_test_id("verdict")
    expect(verdict).to_contain_text("Time to fix:")
    expect(verdict).to_contain_text("hints used: 1")
    expect(page.get_by_test_id("criterion")).to_have_count(7)  # 1 (not judged here) … 6, and the guard
    pm = page.get_by_test_id("postmortem")
    expect(pm).to_be_visible()
    expect(pm).to_contain_text("What changed on 06-19")
    expect(pm).to_contain_text("arrival, not correctness")
    expect(pm).to_contain_text(re.compile(r"\d of \d wrong variants caught by your tests"))
    expect(pm).to_contain_text("A CASE in the mart")
    shot(page, "04-pass-postmortem.png", "#ship-section", through="#postmortem")
    peak = max(sampler.samples) / MIB
    (artefacts_dir() / "workspace-rss.txt").write_text(
        f"workspace RSS while the page was open and a check streamed: peak {peak:.1f} MiB, "
        f"{len(sampler.samples)} samples\n")
    assert peak <= RSS_LIMIT_MIB, f"the workspace used {peak:.1f} MiB"


def test_the_map_shows_connect_down_and_back(page, pristine_workspace):
    lab = pristine_workspace[0]
    debezium = page.get_by_test_id("box-debezium")
    expect(debezium).to_have_attribute("data-healthy", "true", timeout=15_000)
    lab.runtime.kill(lab.connect.comp)
    killed = time.monotonic()
    expect(debezium).to_have_attribute("data-healthy", "false", timeout=5_000)
    expect(page.get_by_test_id("box-sink")).to_have_attribute("data-healthy", "false", timeout=5_000)
    assert time.monotonic() - killed <= 5.0
    debezium.click()
    expect(page.locator("#detail-log")).not_to_be_empty(timeout=10_000)
    shot(page, "05-connect-down.png", "#map-section")
    run_lab("up")
    wait_healthy(lab)
    expect(page.locator('.box[data-healthy="true"]')).to_have_count(11, timeout=30_000)
    page.get_by_test_id("box-debezium").click()  # close the details
    shot(page, "06-connect-back.png", "#map-section")
