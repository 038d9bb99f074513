"""The workspace's ASGI app (Starlette): one page, its static files, a JSON API and an event stream.

    GET  /                         the page (plain HTML; its script and styles are files under static/)
    GET  /static/…                 app.js, app.css, the favicon — shipped with the package, nothing fetched
    GET  /api/state                everything the page shows, as JSON (as datasette offers every page)
    GET  /api/events               server-sent events: snapshot, chart, check, reset, hint
    GET  /api/components/{box}     one box of the component map: its health and the last lines of its log
    GET  /api/postmortem           the postmortem text (lab/workspace/postmortem.toml)
    POST /api/hint                 the next hint of the ladder
    POST /api/ship                 "Ship the fix": the check, streamed on /api/events
    POST /api/reset                facilitator: reset the lab ({"seed": n | null, "keep_code": bool})
    POST /api/orders/pause|resume  facilitator: pause or resume the shop's writer

Every request passes the guard first (lab/workspace/security.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from lab.errors import LabError
from lab.workspace import actions as actions_mod
from lab.workspace import view
from lab.workspace.live import Hub, Poller
from lab.workspace.security import Guard

log = logging.getLogger("workspace")
HERE = Path(__file__).resolve().parent
MAX_SEED = 2**31 - 1
NO_STORE = {"cache-control": "no-store"}


class Workspace:
    """The server's state: the lab's door (backend), the hub of event streams, the poller, the actions."""

    def __init__(self, backend) -> None:
        self.backend = backend
        self.hub = Hub()
        self.actions = actions_mod.Actions(backend, self.publish)
        self.poller = Poller(backend, self.hub, self.actions)
        self.poller.on_new_incident = self.new_incident
        self.hub.on_subscribe = self.wake
        self.hints_shown: list[dict[str, Any]] = []

    def new_incident(self) -> None:
        """The lab was reset (here or from a terminal): no hints shown yet, no verdict."""
        self.hints_shown.clear()
        self.hub.publish("hint", {"shown": self.hints_shown})
        self.actions.forget_verdict()
        self.poller.forget_history()

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        self.hub.publish(kind, data)
        self.wake()

    def wake(self) -> None:
        """Read the lab again now (after an action), from any thread."""
        loop = self.hub.loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self.poller.wake.set()
        else:
            loop.call_soon_threadsafe(self.poller.wake.set)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=NO_STORE)


def create_app(backend, token: str, port: int, poll: bool = True) -> Guard:
    ws = Workspace(backend)
    page = (HERE / "templates" / "index.html").read_text()

    async def index(request: Request) -> Response:
        return HTMLResponse(page, headers=NO_STORE)

    async def state(request: Request) -> Response:
        latest = dict(ws.hub.latest)
        body = "{" + ",".join(f'"{k}":{v}' for k, v in sorted(latest.items())) + "}"
        return Response(body, media_type="application/json", headers=NO_STORE)

    async def events(request: Request) -> Response:
        return StreamingResponse(ws.hub.stream(), media_type="text/event-stream",
                                 headers={**NO_STORE, "x-accel-buffering": "no"})

    async def component(request: Request) -> Response:
        box_id = request.path_params["box"]
        name = view.BOX_COMPONENT.get(box_id)
        if name is None:
            return _error(404, f"no box {box_id!r} on the map")
        where, lines = await asyncio.to_thread(backend.log_tail, name, 40)
        snap = ws.poller.last
        box = next((b for b in (snap.get("map") or {}).get("boxes", []) if b["id"] == box_id), None)
        health = next((c for c in snap.get("components", []) if c["name"] == name), None)
        return JSONResponse({"box": box, "component": health, "description": backend.describe(name),
                             "log": {"where": where, "lines": lines}}, headers=NO_STORE)

    async def postmortem(request: Request) -> Response:
        return JSONResponse(actions_mod.postmortem_text(), headers=NO_STORE)

    async def hint(request: Request) -> Response:
        number, total, text = await asyncio.to_thread(backend.next_hint)
        if not any(h["number"] == number for h in ws.hints_shown):
            ws.hints_shown.append({"number": number, "text": text})
        data = {"number": number, "total": total, "text": text, "shown": ws.hints_shown}
        ws.hub.publish("hint", data)
        ws.wake()
        return JSONResponse(data, headers=NO_STORE)

    async def ship(request: Request) -> Response:
        snap = ws.poller.last
        if snap and snap.get("healthy") is False:
            down = [c["name"] for c in snap.get("components", []) if not c["healthy"]]
            return _error(409, "the lab is not healthy" + (f" ({', '.join(down)} down)" if down else "")
                          + ": `bin/lab up` first, then ship again")
        try:
            return JSONResponse(ws.actions.ship(), status_code=202, headers=NO_STORE)
        except actions_mod.Busy as exc:
            return _error(409, str(exc))

    async def reset(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            return _error(400, "send a JSON object: {\"seed\": 516, \"keep_code\": false}")
        seed = body.get("seed")
        if seed in ("", None):
            seed = None
        elif isinstance(seed, bool) or not isinstance(seed, int | str) or not str(seed).isdigit() \
                or not 0 <= int(seed) <= MAX_SEED:
            return _error(400, f"the seed must be a whole number from 0 to {MAX_SEED}")
        else:
            seed = int(seed)
        try:
            return JSONResponse(ws.actions.reset(seed, bool(body.get("keep_code"))), status_code=202,
                                headers=NO_STORE)
        except actions_mod.Busy as exc:
            return _error(409, str(exc))

    async def pause(request: Request) -> Response:
        await asyncio.to_thread(backend.pause_orders)
        ws.wake()
        return JSONResponse({"orders_paused": True}, headers=NO_STORE)

    async def resume(request: Request) -> Response:
        await asyncio.to_thread(backend.resume_orders)
        ws.wake()
        return JSONResponse({"orders_paused": False}, headers=NO_STORE)

    async def http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        return JSONResponse({"error": getattr(exc, "detail", "error")}, status_code=status,
                            headers=getattr(exc, "headers", None))

    async def internal_error(request: Request, exc: Exception) -> Response:
        # Starlette answers with this, then re-raises: the guard logs the traceback (security.py).
        return _error(500, f"the workspace failed to answer ({type(exc).__name__}); the details are in its log "
                           "(bin/lab logs workspace)")

    async def lab_error(request: Request, exc: Exception) -> Response:
        line = exc.line() if isinstance(exc, LabError) else str(exc)
        log.warning("%s %s: %s", request.method, request.url.path, line)
        return _error(409, line)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        ws.hub.attach(asyncio.get_running_loop())
        ws.hub.publish("check", ws.actions.check_state)
        task = asyncio.create_task(ws.poller.run()) if poll else None
        try:
            yield
        finally:
            ws.hub.close()
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/api/state", state, methods=["GET"]),
        Route("/api/events", events, methods=["GET"]),
        Route("/api/components/{box}", component, methods=["GET"]),
        Route("/api/postmortem", postmortem, methods=["GET"]),
        Route("/api/hint", hint, methods=["POST"]),
        Route("/api/ship", ship, methods=["POST"]),
        Route("/api/reset", reset, methods=["POST"]),
        Route("/api/orders/pause", pause, methods=["POST"]),
        Route("/api/orders/resume", resume, methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(debug=False, routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: http_error, LabError: lab_error,
                                        Exception: internal_error})
    guarded = Guard(app, token=token, port=port)
    guarded.workspace = ws
    return guarded
