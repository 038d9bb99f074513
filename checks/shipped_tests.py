"""Criterion 6: the shipped tests are still there and still as strict.

The learner's manifest is compared with the base project's: every shipped data test by its type, model,
column, arguments and strictness config (severity, where, error_if, warn_if, fail_calc, limit) and by
the test macro it runs; every shipped unit test and singular test, unchanged. Overriding dbt's own test
macros in the project counts as loosening every test that uses them.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

from checks.outcome import Criterion, judged
from lab import dbt
from lab.config import Settings
from lab.errors import ExitCode, LabError

MECHANISM = "manifest comparison with the base project"
STRICTNESS = ("severity", "where", "error_if", "warn_if", "fail_calc", "limit")
DEFAULTS = {"severity": "ERROR", "where": None, "error_if": "!= 0", "warn_if": "!= 0", "fail_calc": "count(*)",
            "limit": None}
# dbt's macros a test's verdict depends on: overriding one in the project changes what every test checks.
_TEST_MACROS = re.compile(r"^(materialization_(test|unit)_\w+|(\w+__)?test_(not_null|unique|accepted_values|"
                          r"relationships)|(\w+__)?get_where_subquery|(\w+__)?get_test_sql|(\w+__)?get_unit_test_sql|"
                          r"(\w+__)?should_store_failures|(\w+__)?get_limit_subquery_sql)$")


def _model_of(node: dict[str, Any]) -> str:
    attached = node.get("attached_node") or ""
    if attached:
        return attached.split(".")[-1]
    deps = node.get("depends_on", {}).get("nodes", [])
    return ",".join(sorted(d.split(".")[-1] for d in deps))


def _strictness(node: dict[str, Any]) -> dict[str, Any]:
    config = node.get("config", {})
    out = {}
    for key in STRICTNESS:
        value = config.get(key, DEFAULTS[key])
        out[key] = value.upper() if key == "severity" and isinstance(value, str) else value
    return out


def _kwargs(node: dict[str, Any]) -> str:
    kwargs = dict((node.get("test_metadata") or {}).get("kwargs", {}))
    kwargs.pop("model", None)
    kwargs.pop("column_name", None)
    return json.dumps(kwargs, sort_keys=True, default=str)


def _norm_sql(text: str) -> str:
    return " ".join(text.split())


def generic_key(node: dict[str, Any]) -> tuple[str, str, str, str]:
    meta = node.get("test_metadata") or {}
    return (f"{meta.get('namespace') or ''}.{meta.get('name')}".lstrip("."), _model_of(node),
            node.get("column_name") or "", _kwargs(node))


def _describe(key: tuple[str, str, str, str]) -> str:
    name, model, column, _ = key
    return f"{name} on {model}" + (f".{column}" if column else "")


def _tests(manifest: dict[str, Any]) -> tuple[dict, dict, dict]:
    generic: dict[tuple, dict] = {}
    singular: dict[str, dict] = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "test":
            continue
        if node.get("test_metadata"):
            generic[generic_key(node)] = node
        else:
            singular[node["name"]] = node
    units = {(u["model"], u["name"]): u for u in manifest.get("unit_tests", {}).values()}
    return generic, singular, units


def compare(base: dict[str, Any], learner: dict[str, Any]) -> tuple[list[str], int]:
    """Problems found, and the number of shipped tests checked."""
    b_gen, b_sing, b_unit = _tests(base)
    l_gen, l_sing, l_unit = _tests(learner)
    problems: list[str] = []
    loose_by_arg: dict[tuple, list[tuple]] = {}
    for key in l_gen:
        loose_by_arg.setdefault(key[:3], []).append(key)
    for key, node in b_gen.items():
        mine = l_gen.get(key)
        if mine is None:
            near = loose_by_arg.get(key[:3])
            problems.append(f"{_describe(key)}: " + ("its arguments changed" if near else "deleted or disabled"))
            continue
        want, have = _strictness(node), _strictness(mine)
        changed = [f"{k} {want[k]!r} → {have[k]!r}" for k in STRICTNESS if want[k] != have[k]]
        if changed:
            problems.append(f"{_describe(key)}: loosened ({', '.join(changed)})")
        # A test macro resolved from the learner's own package overrides dbt's (base tests use dbt's).
        project = learner.get("metadata", {}).get("project_name")
        overridden = [m for m in mine.get("depends_on", {}).get("macros", []) if m.startswith(f"macro.{project}.")
                      and m not in node.get("depends_on", {}).get("macros", [])]
        if overridden:
            problems.append(f"{_describe(key)}: runs {overridden[0]} instead of dbt's own test macro")
    for name, node in b_sing.items():
        mine = l_sing.get(name)
        if mine is None:
            problems.append(f"singular test {name}: deleted or disabled")
        elif _norm_sql(mine.get("raw_code", "")) != _norm_sql(node.get("raw_code", "")):
            problems.append(f"singular test {name}: its SQL changed")
        elif _strictness(mine) != _strictness(node):
            problems.append(f"singular test {name}: loosened (its config changed)")
    for key, unit in b_unit.items():
        mine = l_unit.get(key)
        if mine is None:
            problems.append(f"unit test {key[1]} on {key[0]}: deleted or disabled")
            continue
        problem = _unit_changed(unit, mine)
        if problem:
            problems.append(f"unit test {key[1]} on {key[0]}: {problem}")
    project = learner.get("metadata", {}).get("project_name")
    for macro in learner.get("macros", {}).values():
        if macro.get("package_name") == project and _TEST_MACROS.match(macro.get("name", "")):
            problems.append(f"macro {macro['name']} ({macro.get('original_file_path')}) overrides dbt's own test "
                            "machinery")
    return problems, len(b_gen) + len(b_sing) + len(b_unit)


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _unit_changed(base: dict[str, Any], mine: dict[str, Any]) -> str | None:
    """Expectations and every shipped input must be unchanged. An extra input is allowed: a model that
    now refs a new (say intermediate) model needs one, and it does not loosen what is expected."""
    for part in ("expect", "overrides"):
        if _dump(mine.get(part)) != _dump(base.get(part)):
            return f"its `{part}` changed"
    given = {g.get("input"): g for g in mine.get("given") or []}
    for g in base.get("given") or []:
        have = given.get(g.get("input"))
        if have is None:
            return f"its input {g.get('input')} was removed"
        if _dump({k: have.get(k) for k in ("rows", "format", "fixture")}) != \
                _dump({k: g.get(k) for k in ("rows", "format", "fixture")}):
            return f"its input {g.get('input')} changed"
    return None


def judge(base: dict[str, Any], learner: dict[str, Any]) -> Criterion:
    profile = "dbt ran with the checker's own profile and roles (dbt_project/profiles.yml is not used)"
    if not learner:
        return judged(6, False, "your project could not be parsed, so its tests cannot be compared", [MECHANISM])
    problems, count = compare(base, learner)
    if problems:
        more = f" — and {len(problems) - 3} more" if len(problems) > 3 else ""
        return judged(6, False, f"{len(problems)} shipped test(s) changed: " + "; ".join(problems[:3]) + more,
                      [MECHANISM], problems=problems)
    return judged(6, True, f"all {count} shipped tests present and as strict; {profile}", [MECHANISM])


# -- the base project's manifest, parsed once per content ---------------------------------------------


def _digest(project: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in project.rglob("*") if p.is_file() and not _ignored(p, project)):
        h.update(path.relative_to(project).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _ignored(path: Path, project: Path) -> bool:
    return path.relative_to(project).parts[0] in ("target", "logs", "dbt_packages") or path.name == ".user.yml"


def base_manifest(settings: Settings, project: Path, timeout: float = 300) -> dict[str, Any]:
    cache = settings.lab_dir / "checks" / "base" / f"manifest-{_digest(project)}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    target = cache.parent / f"parse-{cache.stem}"
    shutil.rmtree(target, ignore_errors=True)
    run = dbt.run(settings, ["parse"], project_dir=project, schema="check_base", target_path=target,
                  timeout=timeout)
    manifest = run.manifest()
    shutil.rmtree(target, ignore_errors=True)
    shutil.rmtree(settings.lab_dir / "dbt" / "profile-check_base", ignore_errors=True)
    if not run.ok or not manifest:
        raise LabError(f"the base project {project} does not parse", "this is a bug in the lab: report it",
                       ExitCode.FAILED, detail=run.output[-1500:])
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(manifest))
    return manifest
