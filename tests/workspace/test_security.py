"""The workspace's guard, in-process (Starlette's TestClient): token on every request, Host allow-list,
actions POST-only and same-origin, no stack trace in any response."""

from __future__ import annotations

import logging

import pytest

from lab.workspace.app import create_app
from lab.workspace.security import cookie_name, same_token
from tests.workspace.fakes import BASE, PORT, TOKEN, FakeBackend, TestClient

pytestmark = pytest.mark.unit

AUTH = {"Authorization": f"token {TOKEN}"}
ACTION = {**AUTH, "X-Lab-Action": "1"}
GUARDED = ["/", "/static/app.js", "/static/app.css", "/api/state", "/api/events", "/api/components/kafka",
           "/api/postmortem"]
ACTIONS = ["/api/hint", "/api/ship", "/api/reset", "/api/orders/pause", "/api/orders/resume"]


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
def client(backend):
    app = create_app(backend, token=TOKEN, port=PORT, poll=False)
    with TestClient(app, base_url=BASE, raise_server_exceptions=False, follow_redirects=False) as c:
        yield c


@pytest.mark.parametrize("path", GUARDED)
def test_no_token_is_refused(client, path):
    r = client.get(path)
    assert r.status_code == 403
    assert TOKEN not in r.text


@pytest.mark.parametrize("path", GUARDED)
@pytest.mark.parametrize("how", ["query", "header", "cookie"])
def test_a_wrong_token_is_refused(client, path, how):
    wrong = TOKEN[:-1] + ("x" if TOKEN[-1] != "x" else "y")
    if how == "query":
        r = client.get(path, params={"token": wrong})
    elif how == "header":
        r = client.get(path, headers={"Authorization": f"token {wrong}"})
    else:
        client.cookies.set(cookie_name(PORT), wrong)
        r = client.get(path)
    assert r.status_code == 403


@pytest.mark.parametrize("path", [p for p in GUARDED if p != "/api/events"])  # the stream never ends: see integration
def test_the_token_opens_everything(client, path):
    assert client.get(path, headers=AUTH).status_code == 200


def test_the_printed_url_sets_an_httponly_strict_cookie_and_drops_the_token_from_the_address(client):
    r = client.get("/", params={"token": TOKEN})
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{cookie_name(PORT)}={TOKEN};")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = client.get("/")  # the client now carries the cookie, as the browser does
    assert page.status_code == 200 and "The $516k Gap" in page.text
    assert client.get("/api/state").status_code == 200


def test_cookies_of_two_labs_do_not_collide():
    assert cookie_name(18080) != cookie_name(18090)


@pytest.mark.parametrize("host", ["evil.example", f"evil.example:{PORT}", f"127.0.0.1.nip.io:{PORT}",
                                  "127.0.0.1:1", f"localhost.evil.example:{PORT}", f"[::1]:{PORT}", ""])
def test_a_foreign_host_is_refused_even_with_the_token(client, host):
    r = client.get("/api/state", headers={**AUTH, "Host": host})
    assert r.status_code in (400, 403)
    assert "answers only to" in r.json()["error"]


@pytest.mark.parametrize("host", [f"127.0.0.1:{PORT}", f"localhost:{PORT}", f"LOCALHOST:{PORT}"])
def test_loopback_hosts_are_served(client, host):
    assert client.get("/api/state", headers={**AUTH, "Host": host}).status_code == 200


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Origin": f"http://127.0.0.1:{PORT + 1}"},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
])
@pytest.mark.parametrize("path", ACTIONS)
def test_a_cross_origin_action_is_refused(client, backend, path, headers):
    r = client.post(path, headers={**ACTION, **headers}, json={})
    assert r.status_code == 403
    assert backend.hints == 0 and not backend.paused and not backend.resets


@pytest.mark.parametrize("path", ACTIONS)
def test_an_action_without_the_page_header_is_refused(client, backend, path):
    r = client.post(path, headers=AUTH, json={})
    assert r.status_code == 403 and "X-Lab-Action" in r.json()["error"]


@pytest.mark.parametrize("path", ACTIONS)
def test_get_on_an_action_is_not_allowed(client, path):
    assert client.get(path, headers=AUTH).status_code == 405


def test_a_same_origin_action_from_the_page_is_served(client, backend):
    r = client.post("/api/hint", headers={**ACTION, "Origin": f"http://127.0.0.1:{PORT}",
                                          "Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 200 and r.json()["number"] == 1 and backend.hints == 1


def test_an_internal_error_is_one_line_of_json_and_the_traceback_goes_to_the_log(client, backend, caplog):
    backend.fail_log = True
    with caplog.at_level(logging.ERROR, logger="workspace"):
        r = client.get("/api/components/kafka", headers=AUTH)
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"error"} and "\n" not in body["error"]
    for leak in ("Traceback", "secret-internal-detail", "/srv/secret", 'File "'):
        assert leak not in r.text
    assert "Traceback" in caplog.text and "secret-internal-detail" in caplog.text


def test_every_response_forbids_framing_and_foreign_scripts(client):
    for r in (client.get("/", headers=AUTH), client.get("/api/state"), client.get("/api/state", headers=AUTH)):
        assert r.headers["x-frame-options"] == "DENY"
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"


def test_the_token_is_compared_whole():
    assert same_token(TOKEN, TOKEN)
    assert not same_token(TOKEN[:-1], TOKEN)
    assert not same_token(TOKEN + "x", TOKEN)
    assert not same_token("", TOKEN) and not same_token(None, TOKEN)


def test_websockets_are_not_served(backend):
    app = create_app(backend, token=TOKEN, port=PORT, poll=False)
    with TestClient(app, base_url=BASE) as c, pytest.raises(Exception), \
            c.websocket_connect(f"/api/events?token={TOKEN}", headers={"Host": f"127.0.0.1:{PORT}"}):  # noqa: B017
        pass
