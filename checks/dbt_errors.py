"""dbt's error text turned into one line a learner can act on: the file, the line, what is wrong.

dbt names the model's path in its compile and database errors; a database error's LINE counts lines of
the statement dbt ran (the model wrapped in `create table … as (`), so it is mapped back to the source
file by finding that line's text there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_HEADER = re.compile(r"(?P<kind>Compilation|Database|Parsing|Runtime|Dependency) Error"
                     r"(?: in (?P<rtype>[\w ]+?) (?P<name>\S+) \((?P<path>[^)]+)\))?")
_JINJA_LINE = re.compile(r"^\s+line (\d+)\s*$", re.M)
_SQL_LINE = re.compile(r"^\s*LINE (\d+):(.*)$", re.M)
_YAML_FILE = re.compile(r"Error reading \S+: (\S+) - ")
_YAML_LINE = re.compile(r"(?:Syntax error near line|line) (\d+)")


@dataclass
class Located:
    kind: str  # Compilation | Database | Parsing | Runtime
    message: str  # dbt's (or the database's) first line of explanation
    path: str | None = None  # relative to the project dir
    line: int | None = None
    node: str | None = None

    def one_line(self) -> str:
        where = self.path or (f"{self.node}" if self.node else "your project")
        if self.line:
            where += f" line {self.line}"
        return f"{where}: {self.message} ({self.kind} Error)"


def locate(text: str, project_dir: Path) -> Located | None:
    """The first error dbt reports in text (its console output or a run_results message)."""
    m = _HEADER.search(text)
    if not m:
        return None
    body = text[m.end():]
    nxt = _HEADER.search(body)
    block = body[: nxt.start()] if nxt else body
    lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
    kind = m.group("kind")
    path = m.group("path")
    if kind == "Parsing" or (not path and _YAML_FILE.search(body)):
        # dbt nests a "Runtime Error" inside a parsing error: read the whole text, not one block.
        return _parsing(kind, body, [ln.strip() for ln in body.splitlines() if ln.strip()], project_dir)
    message = _message(lines)
    line = None
    if (jl := _JINJA_LINE.search(block)) and kind == "Compilation":
        line = int(jl.group(1))
    elif (sl := _SQL_LINE.search(block)) and path:
        line = _map_sql_line(sl.group(2), project_dir / path)
    if path and path.endswith(".yml"):
        line = None  # a test or unit test defined in YAML: dbt's line numbers are not the file's
    return Located(kind, message, path, line, m.group("name"))


def _message(lines: list[str]) -> str:
    for ln in lines:
        if ln.startswith(("compiled code at", "line ", "LINE ", "^", ">")) or re.match(r"^\d\d:\d\d:\d\d", ln):
            continue
        return ln
    return "dbt did not say why"


def _parsing(kind: str, block: str, lines: list[str], project_dir: Path) -> Located:
    rel = None
    if fm := _YAML_FILE.search(block):
        rel = _find_file(project_dir, fm.group(1))
    line = int(lm.group(1)) if (lm := _YAML_LINE.search(block)) else None
    message = next((ln for ln in lines if "error" in ln.lower() and "Error reading" not in ln), None) \
        or _message(lines)
    return Located(kind, message, rel, line)


def _find_file(project_dir: Path, tail: str) -> str:
    """dbt names YAML files relative to their model or test path; find the file in the project."""
    for path in sorted(project_dir.rglob(Path(tail).name)):
        rel = path.relative_to(project_dir).as_posix()
        if rel.endswith(tail):
            return rel
    return tail


def _map_sql_line(echoed: str, source: Path) -> int | None:
    """PostgreSQL echoes the offending line of the statement (`LINE 34: <text>`, cut with `...` when
    long); its number counts dbt's query comment and DDL wrapper, so find that text in the source file."""
    text = echoed.strip().removeprefix("...").removesuffix("...").strip()
    try:
        src = source.read_text().splitlines()
    except OSError:
        return None
    if not text:
        return None
    hits = [i + 1 for i, s in enumerate(src) if s.strip() == text] or \
           [i + 1 for i, s in enumerate(src) if text in s]
    return hits[0] if len(hits) == 1 else None


def permission_denied(text: str) -> list[str]:
    """The objects a role was refused, e.g. ['schema erp', 'table orders']."""
    return sorted(set(re.findall(r"permission denied for (\w+ \"?\w+\"?)", text)))


def node_where(unique_id: str, manifest: dict) -> str | None:
    """Where a node of the run lives, for the report: a model's file, or the hook in dbt_project.yml."""
    if unique_id.startswith("operation."):
        kind = "on-run-end" if "on-run-end" in unique_id else "on-run-start"
        return f"dbt_project.yml ({kind} hook)"
    node = manifest.get("nodes", {}).get(unique_id)
    return node.get("original_file_path") if node else None
