"""`python -m lab.workspace`: the workspace server, run by the lab as the component `workspace`.

It binds 127.0.0.1 only, on this lab's workspace port (LAB_PORT_WORKSPACE, or the LAB_INSTANCE block), and
beats .lab/run/workspace.heartbeat from its own event loop every 2 s once it is serving — a loop that
stops answering stops the heartbeat, and `lab status` shows the workspace down. Its log is stdout/stderr
(the runtime writes it to .lab/logs/workspace.log); the token never appears in it.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import sys
import time

from lab.config import LOOPBACK
from lab.config import settings as load_settings

log = logging.getLogger("workspace")
BEAT_EVERY_S = 2.0


def bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((LOOPBACK, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise SystemExit(f"Error: port {port} on {LOOPBACK} is taken — stop what holds it, or move the "
                             f"workspace with LAB_PORT_WORKSPACE=<port>") from exc
        raise
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


async def serve(server, sock: socket.socket, backend, on_exit) -> None:
    """Serve on sock; beat the heartbeat every 2 s once serving; on a stop signal end the event streams at
    once (`on_exit`), so the server need not wait for open pages."""

    async def heartbeat() -> None:
        while not server.started and not server.should_exit:
            await asyncio.sleep(0.1)
        last = 0.0
        while not server.should_exit:
            if time.monotonic() - last >= BEAT_EVERY_S:
                await asyncio.to_thread(backend.beat)
                last = time.monotonic()
            await asyncio.sleep(0.1)
        on_exit()

    beat = asyncio.create_task(heartbeat())
    try:
        await server.serve(sockets=[sock])
    finally:
        beat.cancel()


def main() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore"):  # one line per Connect REST call, every 1.5 s: not a log, a flood
        logging.getLogger(noisy).setLevel(logging.WARNING)
    import uvicorn

    from lab import workspace_link
    from lab.workspace.app import create_app
    from lab.workspace.backend import LabBackend

    cfg = load_settings()
    port = cfg.ports["workspace"]
    sock = bind(port)
    backend = LabBackend(cfg)
    app = create_app(backend, token=workspace_link.token(cfg), port=port)
    config = uvicorn.Config(app, loop="asyncio", http="h11", ws="none", lifespan="on", access_log=False,
                            proxy_headers=False, server_header=False, log_level="info",
                            timeout_graceful_shutdown=2, log_config=None)
    server = uvicorn.Server(config)
    log.info("serving the workspace on http://%s:%d/ (the token is in %s; `bin/lab open` opens it)", LOOPBACK,
             port, workspace_link.token_path(cfg))
    asyncio.run(serve(server, sock, backend, on_exit=app.workspace.hub.close))
    log.info("stopped")


if __name__ == "__main__":
    main()
