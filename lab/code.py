"""The learner's code: dbt_project/ restored to the shipped version, edits saved aside first."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from lab.config import Settings

IGNORED = shutil.ignore_patterns("target", "logs", ".user.yml", "__pycache__")


def pristine_dir(settings: Settings) -> Path:
    return settings.lab_dir / "pristine" / "dbt_project"


def _shipped_tree(settings: Settings) -> str | None:
    """The git tree id of HEAD's dbt_project/ (None outside a checkout)."""
    out = subprocess.run(["git", "-C", str(settings.root), "rev-parse", "HEAD:dbt_project"], capture_output=True,
                         text=True)
    return out.stdout.strip() if out.returncode == 0 else None


def ensure_pristine(settings: Settings) -> Path:
    """Keep a copy of the shipped models: from git HEAD when this is a checkout (renewed when HEAD's
    dbt_project/ changes, e.g. after a `git pull`), else the tree as first seen."""
    target = pristine_dir(settings)
    tree = _shipped_tree(settings)
    marker = target.with_name("dbt_project.tree")
    if target.exists() and (tree is None or (marker.exists() and marker.read_text().strip() == tree)):
        return target
    tmp = target.with_name("dbt_project.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(settings.root), "archive", "HEAD", "dbt_project"],
                             capture_output=True) if tree else None
    if archive is not None and archive.returncode == 0:
        subprocess.run(["tar", "-x", "-C", str(tmp), "--strip-components=1"], input=archive.stdout, check=True)
    else:
        shutil.rmtree(tmp)
        shutil.copytree(settings.root / "dbt_project", tmp, ignore=IGNORED)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    if tree:
        marker.write_text(tree + "\n")
    return target


def _differs(a: Path, b: Path) -> bool:
    out = subprocess.run(["diff", "-rq", "-x", "target", "-x", "logs", "-x", ".user.yml", str(a), str(b)],
                         capture_output=True)
    return out.returncode != 0


def restore(settings: Settings) -> Path | None:
    """Put the shipped dbt_project/ back. Returns where the learner's version was saved, if it differed."""
    pristine = ensure_pristine(settings)
    live = settings.root / "dbt_project"
    saved = None
    if live.exists() and _differs(live, pristine):
        saved = settings.lab_dir / "saved" / time.strftime("dbt_project-%Y%m%d-%H%M%S")
        shutil.copytree(live, saved, ignore=IGNORED)
    if saved or not live.exists():
        shutil.rmtree(live, ignore_errors=True)
        shutil.copytree(pristine, live)
    return saved


def digest(project: Path) -> str:
    """A digest of a project's files (not dbt's output): what the warehouse template's models were built from."""
    import hashlib

    h = hashlib.sha256()
    for path in sorted(p for p in project.rglob("*") if p.is_file()):
        rel = path.relative_to(project)
        if rel.parts[0] in ("target", "logs", "dbt_packages") or path.name == ".user.yml":
            continue
        h.update(rel.as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def is_shipped(settings: Settings) -> bool:
    """Is dbt_project/ the shipped version (as `lab reset` restores it)?"""
    return not _differs(settings.root / "dbt_project", ensure_pristine(settings))
