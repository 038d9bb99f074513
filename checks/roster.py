"""The instructor's authoritative grading: every learner of a roster, judged by the lab at a pinned ref.

    python -m checks roster ROSTER --out DIR [--base REF] [--repo LAB] [--only ID] [--post-status]

For each learner: their repository is fetched at their ref into a temporary folder (`git clone --depth 1`
with git's system and global configuration ignored, or a local folder copied), its `.git` removed, any
symlink that points outside it removed; then it is graded as a directory target of `lab grade` against
the base — the lab's OWN repository (this checkout, or --repo) at --base, never the learner's: only the
learner's `dbt_project/` is taken, every other file of theirs is only compared with the base (criterion
1). `lab grade` resets the lab before each learner. Reports go to DIR/<learner>/ (report.json, report.xml,
summary.md); a learner whose repository cannot be fetched, or whom the grader could not get to, still gets
reports (outcome: error) and the next learner is graded. Then DIR/roster.json (one line per learner) and
the roll-up (DIR/rollup.md|csv|html).

Roster, TOML:

    [defaults]
    ref = "main"

    [[learner]]
    id = "ada"
    repo = "https://github.com/workshop/lab-ada"   # or a local path
    ref = "main"                                    # a branch, a tag or a commit

or CSV with a header: `learner,repo,ref` (ref may be empty: the repository's default branch).

Secrets: the token for private learner repositories and for commit statuses is read from
$LAB_ROSTER_TOKEN and removed from the environment before anything is graded, so no grading process (dbt
renders the learner's Jinja) inherits it; git gets it as an HTTP header through its environment, never on
a command line.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from lab.errors import ExitCode, LabError

TOKEN_ENV = "LAB_ROSTER_TOKEN"
SCRUBBED = (TOKEN_ENV, "GITHUB_TOKEN", "GH_TOKEN", "GH_ENTERPRISE_TOKEN")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
_SHA = re.compile(r"^[0-9a-fA-F]{40}$")
_SHORT_SHA = re.compile(r"^[0-9a-fA-F]{7,39}$")
STATUS_LIMIT = 140  # GitHub's limit on a commit status's description


@dataclass
class Learner:
    id: str
    repo: str  # a URL or a local path
    ref: str | None = None  # None: the repository's default branch (or a local folder as it is)


@dataclass
class Options:
    base: str = "HEAD"
    repo: Path | None = None  # the lab's repository (the base lives there)
    timeout: float = 120.0
    guard: bool = True
    reset: bool = True
    only: list[str] = field(default_factory=list)
    post_status: bool = False
    status_url: str | None = None
    status_context: str = "lab grade (instructor)"
    token: str | None = None
    clone_timeout: float = 600.0


@dataclass
class Fetched:
    path: Path
    commit: str | None
    removed_symlinks: list[str] = field(default_factory=list)


class FetchError(Exception):
    """A learner's repository could not be fetched (the roster goes on with the next learner)."""


def _usage(problem: str, fix: str) -> LabError:
    return LabError(problem, fix, ExitCode.USAGE)


# --- the roster file ------------------------------------------------------------------------------------

def load(path: Path) -> list[Learner]:
    """Learners of a TOML or CSV roster, checked: each id a safe folder name and unique, each with a repo."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".toml":
        rows = _toml_rows(text, path)
    elif path.suffix.lower() == ".csv":
        rows = _csv_rows(text, path)
    else:
        raise _usage(f"{path.name}: a roster is a .toml or .csv file", "see `python -m checks roster --help`")
    learners, seen = [], set()
    for n, row in enumerate(rows, 1):
        lid, repo = str(row.get("id") or "").strip(), str(row.get("repo") or "").strip()
        ref = str(row.get("ref") or "").strip() or None
        where = f"{path.name}, learner {n}"
        if not _ID.match(lid):
            raise _usage(f"{where}: id {lid!r} is not a plain name",
                         "use letters, digits, '.', '_', '-' or '@' (it names the learner's report folder)")
        if lid in seen:
            raise _usage(f"{where}: learner {lid!r} appears twice", "give each learner one line")
        if not repo:
            raise _usage(f"{where} ({lid}): no repository", "give the repository's URL or a local path")
        if repo.startswith("-") or (ref or "").startswith("-"):
            raise _usage(f"{where} ({lid}): a repository or ref cannot start with '-'", "check the roster")
        seen.add(lid)
        learners.append(Learner(lid, repo, ref))
    if not learners:
        raise _usage(f"{path.name} names no learner", "add one `[[learner]]` table or CSV line per learner")
    return learners


def _toml_rows(text: str, path: Path) -> list[dict[str, Any]]:
    try:
        import tomllib
    except ModuleNotFoundError as exc:  # Python 3.10
        raise _usage("TOML rosters need Python 3.11+", "use a CSV roster, or a newer Python") from exc
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _usage(f"{path.name} is not valid TOML: {exc}", "fix the roster") from exc
    defaults = doc.get("defaults", {})
    learners = doc.get("learner", doc.get("learners", []))
    if not isinstance(learners, list):
        raise _usage(f"{path.name}: `learner` must be an array of tables", "write one `[[learner]]` per learner")
    return [{**defaults, **entry, "id": entry.get("id", entry.get("learner"))} for entry in learners]


def _csv_rows(text: str, path: Path) -> list[dict[str, Any]]:
    reader = csv.DictReader(line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))
    fields = {(f or "").strip().lower() for f in reader.fieldnames or []}
    if not {"repo"} <= fields or not fields & {"learner", "id"}:
        raise _usage(f"{path.name}: the CSV header must name learner (or id), repo and optionally ref",
                     "e.g. `learner,repo,ref`")
    rows = []
    for row in reader:
        clean = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        rows.append({"id": clean.get("learner") or clean.get("id"), "repo": clean.get("repo"), "ref": clean.get("ref")})
    return rows


# --- fetching a learner's repository --------------------------------------------------------------------

def _is_url(text: str) -> bool:
    return "://" in text or bool(re.match(r"^[\w.-]+@[\w.-]+:", text))


def git_env(url: str, token: str | None) -> dict[str, str]:
    """git with none of the machine's configuration (no credential helpers, LFS filters or hooks paths from
    it), no prompts, and the token as an HTTP header for https URLs only — in the environment, not argv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") and k not in SCRUBBED}
    env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
                "GIT_ASKPASS": "true", "GIT_ALLOW_PROTOCOL": "https:http:ssh:git:file"})
    parsed = urlparse(url)
    if token and parsed.scheme == "https" and parsed.hostname:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env.update({"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"http.https://{parsed.hostname}/.extraheader",
                    "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}"})
    return env


def _git(args: list[str], env: dict[str, str], timeout: float, cwd: Path | None = None) -> str:
    try:
        proc = subprocess.run(["git", "-c", "protocol.ext.allow=never", "-c", "core.hooksPath=/dev/null", *args],
                              capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise FetchError(f"`git {args[0]}` took longer than {timeout:g} s") from exc
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        raise FetchError(f"`git {args[0]}` failed: {lines[-1] if lines else f'exit {proc.returncode}'}")
    return proc.stdout.strip()


def fetch(learner: Learner, dest: Path, token: str | None = None, timeout: float = 600.0) -> Fetched:
    """The learner's tree at their ref in `dest` (which must not exist), without its .git."""
    source = learner.repo
    if not _is_url(source):
        local = Path(source).expanduser()
        if not local.is_dir():
            raise FetchError(f"{source} is neither a repository URL nor a folder")
        if not (local / ".git").exists():
            if learner.ref:
                raise FetchError(f"{source} is a folder, not a git repository: it has no ref {learner.ref!r}")
            shutil.copytree(local, dest, symlinks=True)
            return Fetched(dest, None, drop_escaping_symlinks(dest))
        source = local.resolve().as_uri()  # file://: a real (shallow) clone, not a hard-linked copy
    env = git_env(source, token)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if learner.ref and _SHORT_SHA.match(learner.ref):
        raise FetchError(f"{learner.ref!r} looks like an abbreviated commit: a server only serves a commit named "
                         "in full (40 hex digits), or a branch or tag")
    if learner.ref and _SHA.match(learner.ref):
        dest.mkdir()
        _git(["init", "-q", str(dest)], env, timeout)
        _git(["fetch", "-q", "--depth", "1", "--no-tags", source, learner.ref], env, timeout, cwd=dest)
        _git(["checkout", "-q", "--detach", "FETCH_HEAD"], env, timeout, cwd=dest)
    else:
        branch = ["--branch", learner.ref] if learner.ref else []
        _git(["clone", "-q", "--depth", "1", "--no-tags", *branch, "--", source, str(dest)], env, timeout)
    commit = _git(["rev-parse", "HEAD"], env, timeout, cwd=dest)
    shutil.rmtree(dest / ".git")
    return Fetched(dest, commit, drop_escaping_symlinks(dest))


def drop_escaping_symlinks(root: Path) -> list[str]:
    """Remove every symlink of the tree that points outside it (the grader copies dbt_project/ following
    links): a learner's link cannot bring a file of the grading machine into the graded copy."""
    root = root.resolve()
    removed = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            if path.is_symlink():
                target = Path(os.path.realpath(path))
                if target != root and root not in target.parents:
                    path.unlink()
                    removed.append(path.relative_to(root).as_posix())
        dirnames[:] = [d for d in dirnames if not (Path(dirpath) / d).is_symlink()]
    return sorted(removed)


# --- commit statuses ------------------------------------------------------------------------------------

def github_repo(url: str) -> tuple[str, str] | None:
    """(owner, name) of a GitHub repository URL (https or scp-like ssh), else None."""
    m = re.match(r"^(?:https://(?:[^@/]+@)?github\.com/|git@github\.com:|ssh://git@github\.com/)"
                 r"([\w.-]+)/([\w.-]+?)(?:\.git)?/?$", url.strip())
    return (m.group(1), m.group(2)) if m else None


def _short(text: str, limit: int = STATUS_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def status_payload(doc: dict[str, Any], *, context: str = "lab grade (instructor)",
                   target_url: str | None = None) -> dict[str, Any]:
    """The body of GitHub's "create a commit status" call for one learner's report.json."""
    verdict = (doc.get("lab") or {}).get("verdict") or doc.get("status") or "error"
    score = f"{doc.get('score', 0):g}/{doc.get('max_score', 0):g}"
    if verdict == "pass":
        state, text = "success", f"PASS {score}: a real fix"
    elif verdict == "fail":
        first = next((t for t in doc.get("tests", []) if t.get("required") and t.get("status") == "fail"
                      and not t.get("not_reached")), None) \
            or next((t for t in doc.get("tests", []) if t.get("status") == "fail"), None)
        where = f"criterion {first.get('criterion') or first.get('task_id')}: {first.get('message')}" if first else ""
        state, text = "failure", f"FAIL {score}: {where}".rstrip(": ")
    else:
        why = doc.get("message") or (doc.get("lab") or {}).get("error") or "see the grading run"
        state, text = "error", f"ERROR, not your fault: {why}"
    body: dict[str, Any] = {"state": state, "description": _short(text), "context": context}
    if target_url:
        body["target_url"] = target_url
    return body


def post_status(url: str, sha: str, body: dict[str, Any], token: str, *, api: str | None = None,
                client: Any = None) -> str:
    """POST the status; returns what happened in a few words (never raises: a status is a courtesy)."""
    repo = github_repo(url)
    if repo is None:
        return "not posted: not a GitHub repository URL"
    import httpx

    api = (api or os.environ.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
               "X-GitHub-Api-Version": "2022-11-28"}
    try:
        http = client or httpx.Client(timeout=30)
        resp = http.post(f"{api}/repos/{repo[0]}/{repo[1]}/statuses/{sha}", json=body, headers=headers)
    except httpx.HTTPError as exc:
        return f"not posted: {type(exc).__name__}"
    return "posted" if resp.status_code == 201 else f"not posted: HTTP {resp.status_code}"


# --- the run --------------------------------------------------------------------------------------------

GradeFn = Callable[[Learner, Path, Path, dict[str, str]], int]
FetchFn = Callable[[Learner, Path, str | None], Fetched]


def _real_grade(opts: Options, base_sha: str, lab_repo: Path) -> GradeFn:
    def grade_learner(learner: Learner, tree: Path, out: Path, facts: dict[str, str]) -> int:
        from checks import grade

        return grade.main([str(tree)], base=base_sha, out=out, repo=lab_repo, probe_seed=None, timeout=opts.timeout,
                          reset=opts.reset, guard=opts.guard, base_label=f"{opts.base} (the lab's pinned ref)",
                          facts=facts, session=False)
    return grade_learner


def error_report(out: Path, facts: dict[str, str], problem: str, fix: str, guard: bool = True) -> None:
    """Reports for a learner the grader could not get to: every criterion an error, saying why."""
    from checks import reports
    from checks.outcome import Criterion, Report, Status

    rep = Report("grade")
    rep.error = f"{problem} — {fix}"
    rep.fill_unjudged(problem)
    if guard:
        from checks.classroom import default_max_score
        from checks.outcome import CRITERIA

        rep.criteria.append(Criterion(None, Status.ERROR, f"not judged: {problem}",
                                      max_score=default_max_score() - len(CRITERIA)))
    rep.lab.update({"time_to_fix_s": None, "hints_used": None, **facts})
    reports.write(rep, out)


def run(roster_file: Path, out: Path, opts: Options, *, grade_fn: GradeFn | None = None,
        fetch_fn: FetchFn | None = None, poster: Callable[..., str] | None = None) -> int:
    from checks import rollup, trusted
    from lab import ui

    token = opts.token or os.environ.get(TOKEN_ENV) or None
    for name in SCRUBBED:  # before anything runs that renders learner code
        os.environ.pop(name, None)
    learners = load(roster_file)
    if opts.only:
        unknown = sorted(set(opts.only) - {learner.id for learner in learners})
        if unknown:
            raise _usage(f"--only names learners not in {roster_file.name}: {', '.join(unknown)}", "check the ids")
        learners = [learner for learner in learners if learner.id in opts.only]
    if opts.post_status and not token:
        raise _usage(f"--post-status needs a token in ${TOKEN_ENV}", "give it one that may write commit statuses")
    if grade_fn is None:
        lab_repo = (opts.repo or trusted.toplevel(trusted.this_root()) or trusted.this_root()).resolve()
        grade_fn = _real_grade(opts, trusted.resolve(lab_repo, opts.base), lab_repo)
    fetch_fn = fetch_fn or (lambda learner, dest, tok: fetch(learner, dest, tok, opts.clone_timeout))
    poster = poster or post_status
    out.mkdir(parents=True, exist_ok=True)
    summary: list[dict[str, Any]] = []
    worst = ExitCode.OK
    for learner in learners:
        dest = out / learner.id
        shutil.rmtree(dest, ignore_errors=True)
        facts = {"learner": learner.id, "repository": learner.repo, "ref": learner.ref or "(default branch)",
                 "target": f"{learner.repo} @ {learner.ref or 'default branch'}"}  # not the grader's scratch path
        line: dict[str, Any] = {"learner": learner.id, "repository": learner.repo, "ref": learner.ref}
        ui.info(f"[bold]roster[/] — {learner.id}: {learner.repo} @ {learner.ref or 'default branch'}")
        scratch = Path(tempfile.mkdtemp(prefix="lab-roster-"))
        try:
            fetched = fetch_fn(learner, scratch / learner.id, token)
            if fetched.commit:
                facts["commit"] = fetched.commit
            if fetched.removed_symlinks:
                facts["removed_symlinks"] = ", ".join(fetched.removed_symlinks)
            line["commit"] = fetched.commit
            if not (fetched.path / "dbt_project").is_dir():
                error_report(dest, facts, f"{learner.repo} @ {learner.ref or 'default branch'} has no dbt_project/",
                             "the learner's repository must be a copy of the lab", opts.guard)
                code = ExitCode.LAB_UNHEALTHY
            else:
                code = grade_fn(learner, fetched.path, dest, facts)
                if not (dest / "report.json").exists():
                    error_report(dest, facts, f"the grader stopped without a report (exit {code})",
                                 "the grading log says why", opts.guard)
        except FetchError as exc:
            error_report(dest, facts, f"could not fetch {learner.repo} @ {learner.ref or 'default branch'}: {exc}",
                         "check the roster's URL and ref, and the token's access", opts.guard)
            code = ExitCode.LAB_UNHEALTHY
        except LabError as exc:
            error_report(dest, facts, exc.problem, exc.fix, opts.guard)
            code = ExitCode.LAB_UNHEALTHY
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        doc = json.loads((dest / "report.json").read_text())
        line.update({"verdict": doc["lab"].get("verdict"), "score": doc.get("score"), "max_score": doc.get("max_score"),
                     "exit": int(code)})
        if opts.post_status and line.get("commit"):
            body = status_payload(doc, context=opts.status_context, target_url=opts.status_url)
            line["status"] = poster(learner.repo, line["commit"], body, token)
        summary.append(line)
        if line["verdict"] not in ("pass", "fail"):
            worst = ExitCode.LAB_UNHEALTHY
        posted = f" · status {line['status']}" if "status" in line else ""
        ui.info(f"[bold]roster[/] — {learner.id}: {str(line['verdict']).upper()} "
                f"{line['score']:g}/{line['max_score']:g}{posted}")
    (out / "roster.json").write_text(json.dumps(summary, indent=2) + "\n")
    rollup.main(out, out, latest=True, quiet=True)
    ui.info(f"roster: {len(summary)} learner(s) graded; reports and the roll-up in {out}")
    return int(worst)
