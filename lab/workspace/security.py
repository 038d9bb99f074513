"""The workspace's guard, modelled on jupyter_server (base/handlers.py, auth/identity.py): a local web app
on a shared machine must assume that other users of the machine, and any web page open in the learner's
browser, will try it.

    Host        only 127.0.0.1:PORT or localhost:PORT (a rebound DNS name pointing at 127.0.0.1 is refused)
    token       on every request — page, static files, API, event stream: `?token=` (the printed URL),
                the HttpOnly SameSite=Strict cookie set on the first page load, or `Authorization: token …`
                (scripts, tests); compared in constant time
    actions     state-changing routes are POST-only (the router answers 405 to anything else) and refuse
                cross-origin requests: Origin, when sent, must be this server's; Sec-Fetch-Site, when sent,
                must be same-origin; and the custom header X-Lab-Action must be present (a cross-site form
                cannot set it, and a cross-site fetch that sets it needs a CORS preflight we never grant)
    errors      no stack trace in any response: the traceback goes to the log, the client gets one line

The guard is a plain ASGI middleware, so it sees every request before any route or static file does.
"""

from __future__ import annotations

import hmac
import json
import logging
import traceback
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

log = logging.getLogger("workspace")

ACTION_HEADER = "x-lab-action"
PAGE_PATHS = ("/",)


def cookie_name(port: int) -> str:
    """Cookies are not scoped by port: two labs on one machine (LAB_INSTANCE) need two names."""
    return f"lab_workspace_{port}"


def allowed_hosts(port: int) -> set[str]:
    return {f"127.0.0.1:{port}", f"localhost:{port}"}


def allowed_origins(port: int) -> set[str]:
    return {f"http://{h}" for h in allowed_hosts(port)}


def same_token(given: str | None, token: str) -> bool:
    if not given:
        return False
    return hmac.compare_digest(given.encode(), token.encode())


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in scope.get("headers", []):
        name = key.decode("latin-1").lower()
        if name not in out:  # the first of repeated headers; a second Host header is refused below
            out[name] = value.decode("latin-1")
    return out


def _count(scope: dict[str, Any], name: bytes) -> int:
    return sum(1 for key, _ in scope.get("headers", []) if key.lower() == name)


async def send_json(send, status: int, body: dict[str, Any], extra: list[tuple[bytes, bytes]] | None = None) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
               (b"cache-control", b"no-store"), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def send_html(send, status: int, html: str, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    data = html.encode()
    headers = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(data)).encode()),
               (b"cache-control", b"no-store"), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


# Sent with every response: no framing (clickjacking), no sniffing, no referrer (the first URL carries the
# token), scripts and styles only from this server (the page has no inline script or style).
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"content-security-policy", b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                 b"connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                                 b"form-action 'none'; object-src 'none'"),
]

DENIED_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>The $516k Gap — workspace</title>
</head><body>
<h1>This workspace needs its token</h1>
<p>Open the URL that <code>bin/lab up</code> printed, or run <code>bin/lab open</code> (or
<code>bin/lab open --print-url</code>) from the repository root: it carries this lab's token.</p>
</body></html>"""


class Guard:
    """Host check, token check, cross-origin refusal for actions, and the catch-all for errors."""

    workspace: Any = None  # the app's state (lab/workspace/app.py), for __main__ and the tests

    def __init__(self, app, *, token: str, port: int) -> None:
        self.app = app
        self.token = token
        self.port = port
        self.hosts = allowed_hosts(port)
        self.origins = allowed_origins(port)
        self.cookie = cookie_name(port)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":  # none here (uvicorn runs with ws="none"): closed before accepting = 403
            await receive()
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            return
        started = False

        async def tracking_send(message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        try:
            await self._guarded(scope, receive, tracking_send)
        except Exception as exc:  # noqa: BLE001 - the catch-all: log the traceback, answer one line
            log.error("error answering %s %s:\n%s", scope.get("method"), scope.get("path"),
                      "".join(traceback.format_exception(exc)))
            if not started:
                await send_json(tracking_send, 500, {"error": f"the workspace failed to answer ({type(exc).__name__}); "
                                                     "the details are in its log (bin/lab logs workspace)"})

    async def _guarded(self, scope, receive, send) -> None:
        headers = _headers(scope)
        path = scope.get("path", "")
        if _count(scope, b"host") != 1 or headers.get("host", "").lower() not in self.hosts:
            log.warning("refused %s %s: Host %r is not this workspace's", scope.get("method"), path,
                        headers.get("host", "")[:80])
            await send_json(send, 403, {"error": f"this workspace answers only to 127.0.0.1:{self.port} or "
                                                 f"localhost:{self.port}"})
            return
        given, how = self._given_token(scope, headers)
        if not same_token(given, self.token):
            log.warning("refused %s %s: %s", scope.get("method"), path, "wrong token" if given else "no token")
            if path in PAGE_PATHS and scope.get("method") in ("GET", "HEAD"):
                await send_html(send, 403, DENIED_PAGE)
            else:
                await send_json(send, 403, {"error": "a valid token is required: open the URL `bin/lab open` "
                                                     "prints"})
            return
        if scope.get("method") not in ("GET", "HEAD"):
            problem = self._cross_origin(headers)
            if problem:
                log.warning("refused %s %s: %s", scope.get("method"), path, problem)
                await send_json(send, 403, {"error": problem})
                return
        if how == "query" and path in PAGE_PATHS and scope.get("method") == "GET":
            # The printed URL: keep the token in an HttpOnly cookie and take it out of the address bar (and
            # off the projector screen, and out of the browser history).
            cookie = f"{self.cookie}={self.token}; HttpOnly; SameSite=Strict; Path=/"
            await send({"type": "http.response.start", "status": 303,
                        "headers": [(b"location", b"/"), (b"set-cookie", cookie.encode()),
                                    (b"cache-control", b"no-store"), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)

    def _given_token(self, scope, headers: dict[str, str]) -> tuple[str | None, str]:
        auth = headers.get("authorization", "")
        if auth[:6].lower() == "token ":
            return auth[6:].strip(), "header"
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if query.get("token"):
            return query["token"][0], "query"
        if "cookie" in headers:
            jar = SimpleCookie()
            try:
                jar.load(headers["cookie"])
            except Exception:  # noqa: BLE001 - a malformed cookie header is no token
                return None, "cookie"
            if self.cookie in jar:
                return jar[self.cookie].value, "cookie"
        return None, "none"

    def _cross_origin(self, headers: dict[str, str]) -> str | None:
        origin = headers.get("origin")
        if origin is not None and origin.lower() not in self.origins:
            return "cross-origin request refused"
        site = headers.get("sec-fetch-site")
        if site is not None and site != "same-origin":
            return "cross-site request refused"
        if ACTION_HEADER not in headers:
            return f"actions need the {ACTION_HEADER.title()} header (the workspace page sets it)"
        return None
