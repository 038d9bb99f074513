"""The workspace's address and its per-lab token (as Jupyter does: the token travels in the printed URL,
and every request must carry it). The token is made once per lab home, readable only by its owner."""

from __future__ import annotations

import os
import secrets

from lab.config import LOOPBACK, Settings


def token_path(settings: Settings):
    return settings.run_dir / "workspace.token"


def token(settings: Settings) -> str:
    path = token_path(settings)
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(24) + "\n")
        return path.read_text().strip()


def url(settings: Settings) -> str | None:
    """The URL a learner opens (None when this lab has no workspace component)."""
    if "workspace" not in settings.ports:
        return None
    return f"http://{LOOPBACK}:{settings.ports['workspace']}/?token={token(settings)}"
