"""`lab fleet`: a facilitator's K labs side by side on one machine.

    lab fleet up --count 4            (or --instances 1-4, or 2,5-7) start them, all at once
    lab fleet reset [--seed N | --seeds 7,42,…]                     reset them, all at once
    lab fleet status                  one line each: healthy?, workspace URL, tile vs ERP, clock
    lab fleet down [--wipe]           stop them (--wipe: delete their data and working copies)

Instance k is a whole lab: LAB_INSTANCE=k (its own port block: every port + 10·k) and its own home, `.lab-k`,
both derived by lab/config.py (`instance_env`, `settings`) — the fleet never writes a port itself. Each
command runs `python -m lab <command>` once per instance, in parallel, each with its instance's environment,
and prefixes their output with `[lab-k]`. They share the jar cache (LAB_CACHE_DIR); the runtime is native
unless LAB_RUNTIME says otherwise (a lab made earlier keeps the runtime it was made with).

Each instance runs from a working copy of its own, `.lab-k-src/` beside its home: the learner of lab k edits
`dbt_project/` there, `lab check` judges that copy, and `lab reset` restores only that copy (K labs running
from one checkout would share — and reset — one `dbt_project/`). The copy holds the files of this checkout as
git sees them (tracked, and untracked but not ignored), committed once, so `lab reset` restores the shipped
models from it. `bin/lab <command>` in the copy runs the lab command for that instance.

Before starting, `lab fleet up` says how many labs fit in this machine's memory — the memory available now
(psutil) divided by what one lab holds at its peak, measured by `make bench` (LAB_GIB below) — and refuses
to start more than fit unless --force.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click
import psutil

from lab.config import MAX_INSTANCE, REPO_ROOT, Settings, instance_env, settings
from lab.errors import ExitCode, LabError

GIB = 1024**3
# What one lab holds at its peak (GiB): the peak of the summed RSS of every process of one lab over a whole
# `make bench` run (cold and warm up, 500 changes of CDC latency with the workspace page open, the workspace
# running a check, resets, `lab check` with its dbt builds), from bench/results/latest.json,
# `runtimes.<runtime>.figures.memory` (RSS counts a page shared by several processes once per process, so it is
# an upper bound; the peak comes during `lab check`, whose checker and dbt processes hold ~0.5 GiB).
# Measured 2026-11-26 on the 2-core, 24 GiB machine of LAB_SPEC §7: native 1.95 GiB → 2.0; docker 2.07 GiB
# of which 0.21 GiB is the engine (dockerd, containerd: there once, whatever the number of labs) → 1.9. Four
# native labs at once without a check running held 1.46 GiB each (the same run's `lab fleet` figures).
LAB_GIB = {"native": 2.0, "docker": 1.9}
MEASURED = "the peak resident memory of one lab measured by `make bench` (bench/README.md)"
# Instance 0 is a learner's own lab (.lab); the fleet takes 1…MAX_INSTANCE.
FIRST_INSTANCE = 1
COPY_EXCLUDED = ("bench/results/",)
# What a child `lab` command must not inherit from the facilitator's shell: another lab's home or ports.
_NOT_PASSED_ON = ("LAB_HOME", "LAB_INSTANCE")


# Which instances ----------------------------------------------------------------------------------------
def parse_instances(spec: str) -> list[int]:
    """`1-4`, `2,5-7`, `3` → the sorted instance numbers (1…99, each once)."""
    found: set[int] = set()
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        low, sep, high = part.partition("-")
        try:
            first, last = int(low), int(high) if sep else int(low)
        except ValueError as exc:
            raise LabError(f"--instances {spec!r} is not a list of instance numbers",
                           "write it like 1-4 or 2,5-7", ExitCode.USAGE) from exc
        if first > last:
            raise LabError(f"--instances {spec!r}: {part} is an empty range", "write the lower number first",
                           ExitCode.USAGE)
        found.update(range(first, last + 1))
    if not found:
        raise LabError(f"--instances {spec!r} names no instance", "write it like 1-4 or 2,5-7", ExitCode.USAGE)
    bad = sorted(k for k in found if not FIRST_INSTANCE <= k <= MAX_INSTANCE)
    if bad:
        raise LabError(f"instance {bad[0]} is not a fleet instance",
                       f"use {FIRST_INSTANCE} to {MAX_INSTANCE} (instance 0 is a learner's own lab, .lab)",
                       ExitCode.USAGE)
    return sorted(found)


def parse_seeds(spec: str, count: int) -> list[int]:
    """`7,42,…`: one seed per instance, in the order of the instances."""
    try:
        seeds = [int(s) for s in spec.split(",") if s.strip()]
    except ValueError as exc:
        raise LabError(f"--seeds {spec!r} is not a list of numbers", "write it like 7,42,1001", ExitCode.USAGE) from exc
    if len(seeds) != count:
        raise LabError(f"--seeds gives {len(seeds)} seed(s) for {count} instance(s)",
                       "give one seed per instance, in the order of the instances", ExitCode.USAGE)
    return seeds


# One instance ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Instance:
    number: int
    home: Path
    root: Path  # the checkout the fleet runs from (its copies are made from it)

    @property
    def name(self) -> str:
        return f"lab-{self.number}"

    @property
    def src(self) -> Path:
        """This instance's own working copy, beside its home (outside it: `lab down` sweeps processes that
        name a path under the home, and a learner's editor open in the copy must survive it)."""
        return self.home.with_name(self.home.name + "-src")

    def settings(self) -> Settings:
        """The lab's settings for this instance, from the one place that derives them."""
        root = self.src if (self.src / "stack" / "components.toml").exists() else self.root
        return settings(root, environ={**_base_env(), **instance_env(self.number, self.home)})

    def env(self, runtime: str | None = None) -> dict[str, str]:
        """The environment of a `lab` command of this instance: the caller's, less another lab's home and
        port overrides, plus LAB_INSTANCE/LAB_HOME; LAB_RUNTIME as given (the fleet defaults to native for a
        lab not made yet; a lab made earlier keeps its runtime)."""
        env = {**_base_env(), **instance_env(self.number, self.home), "PYTHONUNBUFFERED": "1",
               "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        if runtime:
            env["LAB_RUNTIME"] = runtime
        return env

    def remembered_runtime(self) -> str | None:
        path = self.home / "runtime"
        return path.read_text().strip() if path.exists() else None


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if k not in _NOT_PASSED_ON and not k.startswith("LAB_PORT_")}


def instances(numbers: Iterable[int], home_prefix: Path | None = None, root: Path = REPO_ROOT) -> list[Instance]:
    """The instances; homes as lab/config.py makes them (`.lab-k` in the checkout), or `<home_prefix>-k`."""
    out = []
    for k in numbers:
        if home_prefix is None:
            home = settings(root, environ={**_base_env(), "LAB_INSTANCE": str(k)}).lab_dir
        else:
            home = Path(f"{home_prefix}-{k}").expanduser().resolve()
        out.append(Instance(k, home, root))
    return out


def existing(home_prefix: Path | None = None, root: Path = REPO_ROOT) -> list[Instance]:
    """Every fleet instance with a home or a working copy on disk."""
    return [i for i in instances(range(FIRST_INSTANCE, MAX_INSTANCE + 1), home_prefix, root)
            if i.home.exists() or i.src.exists()]


def runtime_for(inst: Instance) -> str | None:
    """LAB_RUNTIME for this instance's commands: the caller's, else native for a lab not made yet (a lab made
    earlier keeps the runtime it was made with: no LAB_RUNTIME, so it is not contradicted)."""
    given = os.environ.get("LAB_RUNTIME")
    if given:
        return given
    return None if inst.remembered_runtime() else "native"


# Memory ---------------------------------------------------------------------------------------------------
def lab_gib(runtime: str) -> float:
    return LAB_GIB.get(runtime, max(LAB_GIB.values()))


def capacity(available_bytes: int, per_lab_gib: float) -> int:
    """How many more labs fit in the memory available now."""
    if per_lab_gib <= 0:
        raise ValueError("a lab's memory budget must be positive")
    return max(0, int(available_bytes // int(per_lab_gib * GIB)))


def require_fit(to_start: int, available_bytes: int, per_lab_gib: float, runtime: str, force: bool) -> str:
    """The line that says how many labs fit; a LabError (exit 2) when more are asked for, unless forced."""
    fits = capacity(available_bytes, per_lab_gib)
    line = (f"memory: {available_bytes / GIB:.1f} GiB available ÷ {per_lab_gib:g} GiB a lab ({runtime} runtime, "
            f"{MEASURED}) → {fits} lab(s) fit; {to_start} to start")
    if to_start > fits and not force:
        raise LabError(f"{to_start} labs do not fit in this machine's memory ({available_bytes / GIB:.1f} GiB "
                       f"available ÷ {per_lab_gib:g} GiB a lab = {fits})",
                       (f"start at most {fits} (e.g. --count {fits}), free memory, " if fits else "free memory, ")
                       + "or add --force to start them anyway",
                       ExitCode.LAB_UNHEALTHY)
    return line


def running(inst: Instance) -> bool:
    """Is this instance's lab up (both PostgreSQL servers running)?"""
    if not inst.home.exists():
        return False
    from lab import runtime as runtimes

    s = inst.settings()
    try:
        rt = runtimes.make(s)
        return all(rt.running(s.stack.components[name]) for name in ("oltp", "warehouse"))
    except LabError:
        return False


# The working copies ---------------------------------------------------------------------------------------
_GIT_ID = ["-c", "user.name=lab fleet", "-c", "user.email=fleet@localhost", "-c", "commit.gpgsign=false"]


def tree_files(root: Path) -> list[str]:
    """The files of a checkout as git sees them: tracked, and untracked but not ignored (paths relative to
    root). Outside git: every file but the lab's homes, the virtualenv and caches."""
    listed = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "-c", "-o", "--exclude-standard"],
                            capture_output=True)
    if listed.returncode == 0:
        names = sorted(set(filter(None, listed.stdout.decode().split("\0"))))
    else:
        skip = (".git", ".venv", ".lab", "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache")
        names = sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                       if p.is_file() and not any(part.startswith(skip) for part in p.relative_to(root).parts))
    # Never the labs' homes or other working copies (`.lab*`), even where .gitignore does not name them.
    return [n for n in names if not n.startswith(COPY_EXCLUDED) and not n.startswith(".lab")
            and (root / n).is_file()]


def copy_tree(root: Path, dest: Path, message: str = "working copy", replace: dict[str, str] | None = None) -> None:
    """dest: a copy of root's files (`tree_files`), as a git repository with one commit (what `lab reset`
    restores dbt_project/ from). `replace`: files whose content differs in the copy (path → text)."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for rel in tree_files(root):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target)
    for rel, text in (replace or {}).items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        target.chmod(0o755)
    git = ["git", "-C", str(dest), *_GIT_ID]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "--no-verify", "-m", message]):
        subprocess.run([*git, *args], check=True, capture_output=True)


LAUNCHER = """#!/bin/sh
# bin/lab of lab {number} of a fleet (`lab fleet`): every lab command for this instance, e.g. bin/lab status,
# with the facilitator's virtualenv; LAB_INSTANCE and LAB_HOME are this instance's.
cd "$(dirname "$0")/.." || exit 1
LAB_INSTANCE={number} LAB_HOME='{home}' exec '{python}' -m lab "$@"
"""


def ensure_copy(inst: Instance) -> bool:
    """Make the instance's working copy if it has none; its `bin/lab` runs the lab commands of this instance
    (committed in the copy, so `git status` there shows only the learner's edits). True when made now."""
    if (inst.src / "stack" / "components.toml").exists():
        return False
    launcher = LAUNCHER.format(number=inst.number, home=inst.home, python=sys.executable)
    copy_tree(inst.root, inst.src, f"lab fleet: working copy of lab {inst.number}", replace={"bin/lab": launcher})
    return True


# Running a lab command on every instance --------------------------------------------------------------
@dataclass
class Outcome:
    instance: int
    command: list[str]
    returncode: int | None = None
    seconds: float = 0.0
    last_line: str = ""
    started_at: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.returncode == 0


_print_lock = threading.Lock()


def _echo(text: str, err: bool = False) -> None:
    with _print_lock:
        click.echo(text, err=err)


def run_one(inst: Instance, args: list[str], runtime: str | None, echo: bool = True,
            timeout: float = 3600) -> Outcome:
    """`python -m lab <args>` for one instance, from its working copy, output prefixed `[lab-k] `."""
    out = Outcome(inst.number, args, started_at=time.time())
    prefix = click.style(f"[{inst.name}] ", fg="cyan")
    start = time.monotonic()
    cwd = inst.src if inst.src.exists() else inst.root
    lines: list[str] = []
    try:
        proc = subprocess.Popen([sys.executable, "-m", "lab", *args], cwd=cwd, env=inst.env(runtime),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                text=True, errors="replace")
    except OSError as exc:
        out.returncode, out.last_line = 1, f"could not start: {exc}"
        return out
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        for line in proc.stdout or []:
            line = line.rstrip("\n")
            lines.append(line)
            if echo:
                _echo(prefix + line)
        out.returncode = proc.wait()
    finally:
        timer.cancel()
    out.seconds = round(time.monotonic() - start, 2)
    meaningful = [ln.strip() for ln in lines if ln.strip()]
    errors = [ln for ln in meaningful if ln.startswith("Error:")]  # the lab's one-line error, when it failed
    out.last_line = errors[-1] if errors and out.returncode else (meaningful[-1] if meaningful else "")
    if out.returncode and out.returncode < 0:
        out.last_line = f"killed by signal {-out.returncode}" + (" (timed out)" if out.seconds >= timeout else "")
    out.extra["output"] = lines
    return out


def run_all(insts: list[Instance], args_for: Callable[[Instance], list[str]], echo: bool = True,
            first: Instance | None = None) -> list[Outcome]:
    """Each instance's command in parallel (with `first`, that one before the others: it fills the shared
    caches once instead of K times at the same moment)."""
    results: dict[int, Outcome] = {}
    todo = list(insts)
    if first is not None and len(todo) > 1:
        todo.remove(first)
        results[first.number] = run_one(first, args_for(first), runtime_for(first), echo)
    if todo:
        with ThreadPoolExecutor(len(todo)) as pool:
            futures = {i.number: pool.submit(run_one, i, args_for(i), runtime_for(i), echo) for i in todo}
        results.update({k: f.result() for k, f in futures.items()})
    return [results[i.number] for i in insts]


def caches_cold(inst: Instance) -> bool:
    """Would the first `lab up` fill a shared cache (the jars; the docker runtime's images)?"""
    runtime = runtime_for(inst) or inst.remembered_runtime() or "native"
    s = inst.settings()
    if runtime == "docker":
        try:
            from lab.runtime.docker import DockerRuntime

            return not DockerRuntime(s)._images_present()
        except Exception:  # noqa: BLE001 - no engine: `lab up` says so itself
            return False
    from lab import install

    return not install.jars_cached(s)


def summary(results: list[Outcome], insts: list[Instance], what: str, wall: float,
            extra: Callable[[Instance, Outcome], str] | None = None) -> int:
    """One line per instance, then the exit code: 0 when every instance succeeded, else the worst code."""
    by_number = {i.number: i for i in insts}
    click.echo("")
    for res in results:
        inst = by_number[res.instance]
        tail = extra(inst, res) if extra else ""
        if res.ok:
            click.echo(f"{inst.name:>7}  {click.style('ok', fg='green')}      {res.seconds:6.1f} s  {tail}".rstrip())
        else:
            click.echo(f"{inst.name:>7}  {click.style('FAILED', fg='red', bold=True)}  {res.seconds:6.1f} s  "
                       f"exit {res.returncode}: {res.last_line[:200]}")
    failed = [r for r in results if not r.ok]
    click.echo(f"{what}: {len(results) - len(failed)} of {len(results)} ok in {wall:.1f} s"
               + (f"; failed: {', '.join(by_number[r.instance].name for r in failed)}" if failed else ""))
    if not failed:
        return 0
    return max((r.returncode if r.returncode and r.returncode > 0 else 1) for r in failed)


def write_report(path: Path | None, command: str, insts: list[Instance], results: list[Outcome], wall: float,
                 **more: Any) -> None:
    if path is None:
        return
    doc = {"command": command, "wall_s": round(wall, 2), **more,
           "instances": [{**{k: v for k, v in asdict(r).items() if k != "extra"},
                          "home": str(i.home), "src": str(i.src),
                          **{k: v for k, v in r.extra.items() if k != "output"}} for i, r in zip(insts, results,
                                                                                                   strict=True)]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")


def workspace_url(inst: Instance) -> str | None:
    from lab import workspace_link

    try:
        return workspace_link.url(inst.settings())
    except OSError:
        return None


# The command ----------------------------------------------------------------------------------------------
def _select(spec: str | None, count: int | None, home_prefix: Path | None, required: bool) -> list[Instance]:
    if spec and count:
        raise LabError("--instances and --count both given", "use one of them", ExitCode.USAGE)
    if count is not None:
        if not 1 <= count <= MAX_INSTANCE:
            raise LabError(f"--count {count} is not a number from 1 to {MAX_INSTANCE}", "e.g. --count 4",
                           ExitCode.USAGE)
        return instances(range(FIRST_INSTANCE, FIRST_INSTANCE + count), home_prefix)
    if spec:
        return instances(parse_instances(spec), home_prefix)
    if required:
        raise LabError("which labs? none given", "say --count 4 (instances 1–4) or --instances 1-4",
                       ExitCode.USAGE)
    found = existing(home_prefix)
    if not found:
        raise LabError("this checkout has no fleet labs", "start some with `bin/lab fleet up --count 4`",
                       ExitCode.USAGE)
    return found


def _which(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--home-prefix", type=click.Path(path_type=Path), default=None,
                     help="Homes at <prefix>-k instead of .lab-k (the bench's fleet uses .lab-bench-fleet).")(f)
    f = click.option("--count", type=int, default=None, help="Instances 1…N.")(f)
    f = click.option("--instances", "spec", default=None, metavar="LIST",
                     help="Instance numbers, e.g. 1-4 or 2,5-7 (default: every fleet lab on disk).")(f)
    return click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=None,
                        help="Also write what happened, per instance, to this JSON file.")(f)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def fleet() -> None:
    """Several labs on one machine (a facilitator's workshop): instance k has its own ports (+10·k), its
    home .lab-k and its own working copy .lab-k-src (`bin/lab …` there is that learner's `lab`)."""


@fleet.command()
@_which
@click.option("--force", is_flag=True, help="Start them even if they do not fit in the memory available.")
@click.option("--gib-per-lab", type=float, default=None,
              help="Memory one lab needs, GiB (default: the bench's measured peak for the runtime).")
@click.option("--seed", type=int, default=None, help="Variant seed for labs made now (default: the incident's).")
def up(spec: str | None, count: int | None, home_prefix: Path | None, report: Path | None, force: bool,
       gib_per_lab: float | None, seed: int | None) -> None:
    """Start the labs, all at once (`lab up` in each), after checking that they fit in memory."""
    insts = _select(spec, count, home_prefix, required=True)
    started_already = [i for i in insts if running(i)]
    to_start = [i for i in insts if i not in started_already]
    runtime = os.environ.get("LAB_RUNTIME") or "native"
    if runtime == "auto":
        runtime = "native"
    per_lab = gib_per_lab if gib_per_lab is not None else lab_gib(runtime)
    click.echo(require_fit(len(to_start), psutil.virtual_memory().available, per_lab, runtime, force)
               + (f" ({', '.join(i.name for i in started_already)} already up)" if started_already else ""))
    made = [i.name for i in insts if ensure_copy(i)]
    if made:
        click.echo(f"working copies made: {', '.join(str(i.src) for i in insts if i.name in made)}")
    first = to_start[0] if to_start and len(insts) > 1 and caches_cold(to_start[0]) else None
    if first is not None:
        click.echo(f"the shared caches are cold: {first.name} fills them first, then the others start")
    t0 = time.monotonic()
    results = run_all(insts, lambda i: ["up", *(["--seed", str(seed)] if seed is not None else [])], first=first)
    wall = time.monotonic() - t0
    write_report(report, "up", insts, results, wall)
    sys.exit(summary(results, insts, "fleet up", wall,
                     lambda i, r: f"{workspace_url(i) or ''}  (cd {i.src} && bin/lab …)"))


@fleet.command()
@_which
@click.option("--seed", type=int, default=None, help="Every lab to this variant (default: each keeps its own).")
@click.option("--seeds", default=None, metavar="LIST", help="One seed per instance, in order, e.g. 7,42,1001,5.")
@click.option("--keep-code", is_flag=True, help="Leave each working copy's dbt_project/ as it is.")
def reset(spec: str | None, count: int | None, home_prefix: Path | None, report: Path | None, seed: int | None,
          seeds: str | None, keep_code: bool) -> None:
    """Reset the labs to the pristine broken start, all at once (`lab reset` in each)."""
    if seed is not None and seeds:
        raise LabError("--seed and --seeds both given", "use one of them", ExitCode.USAGE)
    insts = _select(spec, count, home_prefix, required=False)
    per = dict(zip([i.number for i in insts], parse_seeds(seeds, len(insts)), strict=True)) if seeds else {}

    def args(i: Instance) -> list[str]:
        chosen = per.get(i.number, seed)
        return ["reset", *(["--seed", str(chosen)] if chosen is not None else []),
                *(["--keep-code"] if keep_code else [])]

    t0 = time.monotonic()
    results = run_all(insts, args)
    wall = time.monotonic() - t0
    write_report(report, "reset", insts, results, wall)
    sys.exit(summary(results, insts, "fleet reset", wall))


def _status_line(inst: Instance, res: Outcome) -> str:
    try:
        doc = json.loads("\n".join(res.extra.get("output") or []) or "{}")
    except json.JSONDecodeError:
        doc = {}
    res.extra["healthy"] = bool(doc.get("healthy"))
    if not doc:
        return f"no status: {res.last_line[:160]}"
    incident = doc.get("incident") or {}
    down = [c["name"] for c in doc.get("components", []) if not c.get("healthy")]
    from decimal import Decimal, InvalidOperation

    from lab.incident import short_money

    def money(key: str) -> str:
        try:
            return short_money(Decimal(str(incident[key])))
        except (KeyError, InvalidOperation):
            return "n/a"

    health = click.style("healthy", fg="green") if doc.get("healthy") else click.style(
        "NOT healthy" + (f" ({', '.join(down)} down)" if down else ""), fg="red", bold=True)
    url = workspace_url(inst) if doc.get("healthy") or not down else None
    return (f"{health}  {url or 'workspace: —'}  tile {money('tile')} vs ERP {money('erp')}  "
            f"clock {incident.get('clock') or '—'}")


@fleet.command()
@_which
def status(spec: str | None, count: int | None, home_prefix: Path | None, report: Path | None) -> None:
    """One line per lab: healthy or not, its workspace URL, the tile vs the ERP, the clock."""
    insts = _select(spec, count, home_prefix, required=False)
    made = [i for i in insts if i.home.exists()]
    t0 = time.monotonic()
    results = run_all(made, lambda i: ["status", "--json"], echo=False)
    wall = time.monotonic() - t0
    lines = {r.instance: _status_line(i, r) for i, r in zip(made, results, strict=True)}
    for inst in insts:
        click.echo(f"{inst.name:>7}  {lines.get(inst.number) or click.style('not made (no home yet)', fg='red')}")
    write_report(report, "status", made, results, wall)
    unhealthy = [i.name for i, r in zip(made, results, strict=True) if not r.ok]
    unhealthy += [i.name for i in insts if i not in made]
    if unhealthy:
        click.echo(f"not healthy: {', '.join(unhealthy)} — `bin/lab fleet up` starts what is down")
    sys.exit(max([r.returncode if r.returncode and r.returncode > 0 else 1 for r in results if not r.ok],
                 default=ExitCode.LAB_UNHEALTHY if unhealthy else 0))


@fleet.command()
@_which
@click.option("--wipe", is_flag=True, help="Also delete each lab's data (its home, its docker volumes) and its "
              "working copy (the learner's edits with it).")
def down(spec: str | None, count: int | None, home_prefix: Path | None, report: Path | None, wipe: bool) -> None:
    """Stop the labs (data kept unless --wipe)."""
    insts = _select(spec, count, home_prefix, required=False)
    t0 = time.monotonic()
    results = run_all(insts, lambda i: ["down", *(["--wipe"] if wipe else [])])
    if wipe:
        for inst, res in zip(insts, results, strict=True):
            if res.ok:
                shutil.rmtree(inst.src, ignore_errors=True)
                shutil.rmtree(inst.home, ignore_errors=True)
    wall = time.monotonic() - t0
    write_report(report, "down", insts, results, wall)
    sys.exit(summary(results, insts, "fleet down" + (" --wipe" if wipe else ""), wall))


def main() -> None:
    """`python -m lab.fleet …` (the same group `bin/lab fleet …` runs)."""
    from lab import ui

    ui.run_command(fleet, prog_name="lab fleet",
                   interrupted="run the command again (`bin/lab fleet status` says where each lab is)")


if __name__ == "__main__":
    main()
