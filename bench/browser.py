"""The workspace page open in a real headless browser while the bench measures: Playwright for Python driving
Debian's chromium (no browser download is possible on the machine of LAB_SPEC §7).

`WorkspacePage` opens the lab's workspace URL (with its token, `lab.workspace_link.url`) and keeps it open; the
page's own script then holds its event stream and polls as a learner's browser would. When chromium,
Playwright or the workspace is missing, `.why` says so and nothing is open — the figures that need the page
are then reported as "not measured" with that reason, never estimated.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def unavailable() -> str | None:
    """Why no page can be opened here (None when it can)."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        return f"no chromium at {CHROMIUM} (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (.venv/bin/pip install playwright)"
    return None


class WorkspacePage:
    """with WorkspacePage(url) as page: page.why is None when the page is open and showing the workspace."""

    def __init__(self, url: str | None, timeout_s: float = 30) -> None:
        self.url = url
        self.timeout_ms = timeout_s * 1000
        self.why: str | None = None
        self.info: dict[str, Any] = {}
        self.console_errors: list[str] = []
        self.requests = 0
        self._pw = self._browser = self.page = None

    def __enter__(self) -> WorkspacePage:
        self.why = unavailable() or (None if self.url else "this lab has no workspace component")
        if self.why:
            return self
        from playwright.sync_api import Error, sync_playwright

        try:
            self._pw = sync_playwright().start()
            self._browser = self._pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            self.page = self._browser.new_page()
            self.page.on("console", lambda m: self.console_errors.append(m.text[:200]) if m.type == "error" else None)
            self.page.on("request", lambda r: setattr(self, "requests", self.requests + 1))
            resp = self.page.goto(self.url, wait_until="load", timeout=self.timeout_ms)
            status = resp.status if resp else None
            title = self.page.title()
            self.info = {"status": status, "title": title, "chromium": self._browser.version}
            if status != 200 or "needs its token" in (self.page.content() or ""):
                self.why = f"the workspace did not serve its page (HTTP {status}, title {title!r})"
                return self
            # The page is live once its script has drawn the tile from the first snapshot of its event stream.
            # (A locator, not wait_for_function: the page's CSP forbids the eval a polled string needs.)
            self.page.locator("#tile-short", has_text="$").wait_for(timeout=self.timeout_ms)
            self.info["tile_shown"] = self.page.text_content("#tile-short")
        except Error as exc:
            self.why = f"the browser could not open the workspace: {str(exc).splitlines()[0][:200]}"
        return self

    def ship(self) -> str:
        """Press "Ship the fix" as a learner does. Returns how it was pressed."""
        assert self.page is not None
        self.page.click("#ship-btn", timeout=self.timeout_ms)
        return "the page's Ship button (#ship-btn)"

    def __exit__(self, *exc: object) -> None:
        if self.page is not None:
            self.info["requests"] = self.requests
            self.info["console_errors"] = self.console_errors[:10]
        for closer in (self._browser, self._pw):
            if closer is None:
                continue
            with contextlib.suppress(Exception):  # a browser that already went away
                closer.close() if closer is self._browser else closer.stop()
