"""The workspace as the lab runs it, over its real port: the token, the Host check and the cross-origin
refusal hold on the wire, the event stream moves at least every 2 s, and the port answers on loopback only."""

from __future__ import annotations

import json
import socket
import time

import httpx
import psutil
import pytest

pytestmark = pytest.mark.integration


def test_the_workspace_is_a_healthy_component_of_the_lab(workspace):
    lab, base, token = workspace
    h = lab.workspace.health()
    assert h.healthy and h.port == lab.settings.ports["workspace"]
    assert lab.workspace.heartbeat_age() < 15


@pytest.mark.parametrize("path", ["/", "/static/app.js", "/api/state", "/api/events", "/api/components/kafka"])
def test_no_token_or_a_wrong_one_is_refused(workspace, path):
    lab, base, token = workspace
    assert httpx.get(base + path, timeout=10).status_code == 403
    assert httpx.get(base + path, params={"token": token[::-1]}, timeout=10).status_code == 403
    assert httpx.get(base + path, headers={"Authorization": "token nope"}, timeout=10).status_code == 403


def test_the_printed_url_opens_the_page(workspace):
    lab, base, token = workspace
    from lab import workspace_link

    url = workspace_link.url(lab.settings)
    assert url == f"{base}/?token={token}"
    with httpx.Client(timeout=10, follow_redirects=True) as client:
        page = client.get(url)
        assert page.status_code == 200 and "The $516k Gap" in page.text
        assert client.get(base + "/api/state").status_code == 200  # the cookie carries the token now


@pytest.mark.parametrize("host", ["evil.example", "attacker.example:{port}", "127.0.0.1.nip.io:{port}"])
def test_a_foreign_host_is_refused(workspace, host):
    lab, base, token = workspace
    port = lab.settings.ports["workspace"]
    r = httpx.get(base + "/api/state", headers={"Host": host.format(port=port), "Authorization": f"token {token}"},
                  timeout=10)
    assert r.status_code == 403


def test_a_cross_origin_action_is_refused(workspace):
    lab, base, token = workspace
    before = lab.session.read().hints_used
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {}):
        r = httpx.post(base + "/api/hint", timeout=10,
                       headers={"Authorization": f"token {token}", **headers,
                                **({"X-Lab-Action": "1"} if headers else {})})
        assert r.status_code == 403, headers
    assert httpx.get(base + "/api/hint", headers={"Authorization": f"token {token}"}, timeout=10).status_code == 405
    assert lab.session.read().hints_used == before


def test_the_event_stream_moves_at_least_every_two_seconds(workspace):
    lab, base, token = workspace
    seen: list[tuple[float, int]] = []
    with httpx.stream("GET", base + "/api/events", headers={"Authorization": f"token {token}"},
                      timeout=httpx.Timeout(10, read=10)) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        event = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "snapshot":
                seen.append((time.monotonic(), json.loads(line[6:])["seq"]))
                if len(seen) == 4:
                    break
    gaps = [b[0] - a[0] for a, b in zip(seen[1:], seen[2:], strict=False)]  # the first one is the replay
    assert gaps and max(gaps) <= 2.0, gaps
    assert [s for _, s in seen[1:]] == sorted({s for _, s in seen[1:]})


def _other_ipv4_addresses() -> list[str]:
    out = []
    for addrs in psutil.net_if_addrs().values():
        for a in addrs:
            if a.family == socket.AF_INET and not a.address.startswith("127."):
                out.append(a.address)
    return out


def test_the_port_answers_on_loopback_only(workspace):
    lab, base, token = workspace
    port = lab.settings.ports["workspace"]
    listening = [c.laddr for c in psutil.Process(lab.workspace.pid()).net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN]
    assert listening and {a.ip for a in listening} == {"127.0.0.1"}, listening
    others = _other_ipv4_addresses()
    for address in [*others, "::1"]:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            with pytest.raises(OSError):
                sock.connect((address, port))
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass  # and it does answer on loopback
    if not others:
        pytest.skip("this machine has no IPv4 address besides loopback to try")
