"""The learner's dbt project, copied into a folder of the checker's own before dbt reads a byte of it.

dbt follows whatever the project names: a symlink to a file of the grading machine, a `model-paths`
entry such as `/etc` or `../../checks`, a `packages-install-path` elsewhere. Each would let a learner
choose what is judged or read what is not theirs. So the checker builds a copy in which every file is a
regular file that was inside the project, and refuses (a FAIL of criterion 2, naming the file) a project
whose symlinks or configured paths lead outside it.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path, PurePosixPath

import yaml

SKIPPED = {"target", "logs", "__pycache__", ".user.yml"}  # dbt's own output, never part of the work
MAX_BYTES = 50 * 2**20
MAX_FILES = 5000
# dbt_project.yml keys that name folders dbt reads from (target-path and log-path are given on the command
# line, which wins; they are held to the same rule so a project means the same thing everywhere).
PATH_KEYS = ("model-paths", "seed-paths", "test-paths", "analysis-paths", "macro-paths", "snapshot-paths",
             "docs-paths", "asset-paths", "function-paths", "packages-install-path", "target-path", "log-path")


class Refused(Exception):
    """The project cannot be built as it is: it reaches outside itself."""


def copy(src: Path, dest: Path) -> Path:
    """Copy the project at src to dest (replaced), following only symlinks that stay inside it."""
    src = src.resolve()
    if not (src / "dbt_project.yml").is_file():
        raise Refused("there is no dbt_project.yml in the project folder")
    shutil.rmtree(dest, ignore_errors=True)
    counter = {"bytes": 0, "files": 0}
    _copy_dir(src, src, dest, counter, depth=0)
    check_paths(dest / "dbt_project.yml")
    return dest


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _copy_dir(root: Path, folder: Path, dest: Path, counter: dict[str, int], depth: int) -> None:
    if depth > 40:
        raise Refused(f"{_rel(root, folder)}: folders nested too deep (a symlink loop?)")
    dest.mkdir(parents=True, exist_ok=True)
    for entry in sorted(folder.iterdir()):
        if depth == 0 and entry.name in SKIPPED or entry.name in ("__pycache__", ".user.yml"):
            continue
        rel = _rel(root, entry)
        mode = entry.lstat().st_mode
        source = entry
        if stat.S_ISLNK(mode):
            source = _inside(root, entry)
            mode = source.stat().st_mode
        if stat.S_ISDIR(mode):
            _copy_dir(root, source, dest / entry.name, counter, depth + 1)
        elif stat.S_ISREG(mode):
            counter["files"] += 1
            counter["bytes"] += source.stat().st_size
            if counter["files"] > MAX_FILES or counter["bytes"] > MAX_BYTES:
                raise Refused(f"the project is larger than {MAX_FILES} files or {MAX_BYTES // 2**20} MB")
            shutil.copyfile(source, dest / entry.name)
        else:
            raise Refused(f"{rel} is not a regular file or folder")


def _inside(root: Path, link: Path) -> Path:
    """Where a symlink leads, if that is inside the project; else refuse (naming the link as written)."""
    written = os.readlink(link)
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise Refused(f"{_rel(root, link)} is a broken or looping symlink (to {written})") from exc
    if target != root and root not in target.parents:
        raise Refused(f"{_rel(root, link)} is a symlink to {written}, outside the project — the checker only "
                      "reads files inside dbt_project/")
    return target


def check_paths(project_yml: Path) -> None:
    try:
        doc = yaml.safe_load(project_yml.read_text())
    except yaml.YAMLError:
        return  # dbt reports a malformed dbt_project.yml itself, with its line (criterion 2)
    if not isinstance(doc, dict):
        return
    for key in PATH_KEYS:
        values = doc.get(key)
        for value in values if isinstance(values, list) else [values]:
            if value is None:
                continue
            text = str(value)
            if "{{" in text or "{%" in text:
                raise Refused(f"dbt_project.yml: {key} must be a plain relative path, not a template ({text})")
            if PurePosixPath(text).is_absolute() or Path(text).is_absolute() or \
                    os.path.normpath(text).split(os.sep)[0] == "..":
                raise Refused(f"dbt_project.yml: {key} {text!r} leads outside the project — keep every path "
                              "inside dbt_project/")
