"""The instructor's roster: parsing, fetching learner repositories (local git repositories stand in for
them), the per-learner flow with the grading call faked, commit statuses. The real grading of three
learners is test_roster_e2e.py."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from checks import reports, roster
from lab.errors import LabError
from tests.grading.cases import CASES

pytestmark = pytest.mark.unit

GIT = ["git", "-c", "user.email=lab@example.invalid", "-c", "user.name=lab tests", "-c", "init.defaultBranch=main"]


def git(repo: Path, *args: str) -> str:
    return subprocess.run([*GIT, "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


def learner_repo(path: Path, sql: str = "select 1 as id\n", extra: dict[str, str] | None = None) -> Path:
    """A learner's repository: a copy of the lab (here: a tiny one) with their dbt_project/."""
    files = {"dbt_project/dbt_project.yml": "name: p\n", "dbt_project/models/m.sql": sql, "checks/__init__.py": "",
             **(extra or {})}
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    subprocess.run([*GIT, "init", "-q", str(path)], check=True)
    git(path, "add", "-A")
    git(path, "commit", "-qm", "learner")
    return path


def test_toml_and_csv_rosters(tmp_path: Path) -> None:
    toml = tmp_path / "roster.toml"
    toml.write_text('[defaults]\nref = "main"\n\n[[learner]]\nid = "ada"\nrepo = "https://github.com/w/lab-ada"\n\n'
                    '[[learner]]\nid = "bo.b"\nrepo = "../bo"\nref = "fix"\n')
    assert roster.load(toml) == [roster.Learner("ada", "https://github.com/w/lab-ada", "main"),
                                 roster.Learner("bo.b", "../bo", "fix")]
    csv = tmp_path / "roster.csv"
    csv.write_text("# the workshop of June\nlearner,repo,ref\nada,https://github.com/w/lab-ada,\ncy,/srv/cy,v1\n")
    assert roster.load(csv) == [roster.Learner("ada", "https://github.com/w/lab-ada", None),
                                roster.Learner("cy", "/srv/cy", "v1")]


@pytest.mark.parametrize("text, problem", [
    ('[[learner]]\nid = "../x"\nrepo = "r"\n', "is not a plain name"),
    ('[[learner]]\nid = "a"\nrepo = "r"\n[[learner]]\nid = "a"\nrepo = "s"\n', "appears twice"),
    ('[[learner]]\nid = "a"\n', "no repository"),
    ('[[learner]]\nid = "a"\nrepo = "--upload-pack=evil"\n', "cannot start with '-'"),
    ("x = 1\n", "names no learner"),
    ("[[learner]\n", "is not valid TOML"),
])
def test_a_bad_roster_is_refused_with_one_line(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "roster.toml"
    path.write_text(text)
    with pytest.raises(LabError) as info:
        roster.load(path)
    assert problem in info.value.problem and info.value.code == 64


def test_fetch_a_branch_a_commit_or_the_default_branch(tmp_path: Path) -> None:
    repo = learner_repo(tmp_path / "ada")
    first = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-qb", "fix")
    (repo / "dbt_project" / "models" / "m.sql").write_text("select 2 as id\n")
    git(repo, "commit", "-qam", "fix")
    fix = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "main")

    got = roster.fetch(roster.Learner("ada", str(repo), "fix"), tmp_path / "a")
    assert got.commit == fix and (got.path / "dbt_project/models/m.sql").read_text() == "select 2 as id\n"
    assert not (got.path / ".git").exists()  # nothing of the learner's git plumbing is kept
    got = roster.fetch(roster.Learner("ada", str(repo), first), tmp_path / "b")
    assert got.commit == first and (got.path / "dbt_project/models/m.sql").read_text() == "select 1 as id\n"
    with pytest.raises(roster.FetchError, match="abbreviated commit"):
        roster.fetch(roster.Learner("ada", str(repo), first[:12]), tmp_path / "b2")
    assert roster.fetch(roster.Learner("ada", str(repo)), tmp_path / "c").commit == first
    with pytest.raises(roster.FetchError, match="failed"):
        roster.fetch(roster.Learner("ada", str(repo), "no-such-branch"), tmp_path / "d")
    with pytest.raises(roster.FetchError, match="neither a repository URL nor a folder"):
        roster.fetch(roster.Learner("ada", str(tmp_path / "nowhere")), tmp_path / "e")


def test_symlinks_out_of_the_learners_tree_are_removed(tmp_path: Path) -> None:
    secret = tmp_path / "grader-secret.txt"
    secret.write_text("do not copy me")
    repo = learner_repo(tmp_path / "eve")
    (repo / "dbt_project" / "seeds").mkdir()
    os.symlink(secret, repo / "dbt_project" / "seeds" / "leak.csv")
    os.symlink("../models/m.sql", repo / "dbt_project" / "seeds" / "inside.sql")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "links")
    got = roster.fetch(roster.Learner("eve", str(repo), "main"), tmp_path / "x")
    assert got.removed_symlinks == ["dbt_project/seeds/leak.csv"]
    assert not (got.path / "dbt_project/seeds/leak.csv").exists()
    assert (got.path / "dbt_project/seeds/inside.sql").is_symlink()  # within their own tree: harmless


def test_the_token_reaches_git_as_a_header_in_its_environment_only(monkeypatch) -> None:
    monkeypatch.setenv("GIT_DIR", "/elsewhere")
    monkeypatch.setenv("GITHUB_TOKEN", "runner-token")
    env = roster.git_env("https://github.com/w/lab-ada", "s3cret")
    assert "GIT_DIR" not in env and "GITHUB_TOKEN" not in env
    assert env["GIT_CONFIG_NOSYSTEM"] == "1" and env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GIT_CONFIG_KEY_0"] == "http.https://github.com/.extraheader"
    assert env["GIT_CONFIG_VALUE_0"].startswith("AUTHORIZATION: basic ") and "s3cret" not in env["GIT_CONFIG_VALUE_0"]
    assert "GIT_CONFIG_COUNT" not in roster.git_env("/srv/ada", "s3cret")  # never sent to a local or ssh source


def test_commit_status_payloads() -> None:
    def doc(case: str) -> dict:
        return json.loads(json.dumps(reports.as_json(CASES[case]()), default=str))

    ok = roster.status_payload(doc("passed"), target_url="https://ci.example/run/1")
    assert ok == {"state": "success", "description": "PASS 9/10: a real fix", "context": "lab grade (instructor)",
                  "target_url": "https://ci.example/run/1"}
    bad = roster.status_payload(doc("failed"))
    assert bad["state"] == "failure" and bad["description"].startswith("FAIL 0/10: criterion 3: tile $4,206,000.00")
    err = roster.status_payload(doc("lab_down"), context="grade")
    assert err["state"] == "error" and err["context"] == "grade" and "not your fault" in err["description"]
    long = doc("failed")
    long["tests"][2]["message"] = "x" * 500
    assert len(roster.status_payload(long)["description"]) == roster.STATUS_LIMIT


def test_github_repository_urls() -> None:
    assert roster.github_repo("https://github.com/w/lab-ada") == ("w", "lab-ada")
    assert roster.github_repo("https://github.com/w/lab.ada.git") == ("w", "lab.ada")
    assert roster.github_repo("git@github.com:w/lab-ada.git") == ("w", "lab-ada")
    assert roster.github_repo("/srv/ada") is None and roster.github_repo("https://gitlab.com/w/x") is None


def test_post_status_calls_the_commit_status_api() -> None:
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    body = {"state": "failure", "description": "FAIL", "context": "lab grade (instructor)"}
    assert roster.post_status("https://github.com/w/lab-ada", "a" * 40, body, "tok", client=client) == "posted"
    [req] = seen
    assert str(req.url) == f"https://api.github.com/repos/w/lab-ada/statuses/{'a' * 40}"
    assert req.headers["authorization"] == "Bearer tok" and json.loads(req.content) == body
    assert roster.post_status("/srv/ada", "a" * 40, body, "tok", client=client).startswith("not posted")
    denied = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(403)))
    assert roster.post_status("https://github.com/w/x", "b" * 40, body, "tok", client=denied) == "not posted: HTTP 403"


def _fake_grade(calls: list, verdicts: dict[str, str]):
    """Stands in for `lab grade DIR --base <the lab's pinned ref>`: writes a real report, as the grader does."""
    def grade(learner, tree: Path, out: Path, facts: dict) -> int:
        calls.append({"learner": learner.id, "tree": tree, "files": sorted(p.relative_to(tree).as_posix()
                      for p in tree.rglob("*") if p.is_file()), "facts": dict(facts),
                      "token_in_env": any(k in os.environ for k in roster.SCRUBBED)})
        rep = CASES[verdicts[learner.id]]()
        rep.lab.update(facts)
        reports.write(rep, out)
        return {"passed": 0, "failed": 1}.get(verdicts[learner.id], 2)
    return grade


def test_every_learner_gets_reports_and_one_error_does_not_stop_the_others(tmp_path: Path, monkeypatch) -> None:
    ada = learner_repo(tmp_path / "src" / "ada")
    bo = learner_repo(tmp_path / "src" / "bo", "select 9 as id\n")
    no_project = tmp_path / "src" / "zed"
    learner_repo(no_project)
    git(no_project, "rm", "-rq", "dbt_project")
    git(no_project, "commit", "-qm", "no project")
    path = tmp_path / "roster.toml"
    path.write_text(f'[[learner]]\nid = "ada"\nrepo = "{ada}"\nref = "main"\n\n'
                    f'[[learner]]\nid = "cy"\nrepo = "{tmp_path / "src" / "missing"}"\n\n'
                    f'[[learner]]\nid = "bo"\nrepo = "{bo}"\n\n'
                    f'[[learner]]\nid = "zed"\nrepo = "{no_project}"\n')
    monkeypatch.setenv(roster.TOKEN_ENV, "s3cret")
    monkeypatch.setenv("GITHUB_TOKEN", "runner-token")
    calls: list = []
    out = tmp_path / "reports"
    code = roster.run(path, out, roster.Options(), grade_fn=_fake_grade(calls, {"ada": "passed", "bo": "failed"}))
    assert code == 2  # the lab could not judge cy (no repository) and zed (no dbt_project/)
    assert [c["learner"] for c in calls] == ["ada", "bo"]
    assert all(not c["token_in_env"] for c in calls)  # no grading process can read the token
    assert calls[0]["files"] == ["checks/__init__.py", "dbt_project/dbt_project.yml", "dbt_project/models/m.sql"]
    assert calls[0]["facts"]["commit"] == git(ada, "rev-parse", "HEAD") and calls[0]["facts"]["learner"] == "ada"
    assert not calls[0]["tree"].exists()  # the learner's copy is removed after grading
    verdicts = {}
    for learner in ("ada", "bo", "cy", "zed"):
        assert {p.name for p in (out / learner).iterdir()} == {"report.json", "report.xml", "summary.md"}
        doc = json.loads((out / learner / "report.json").read_text())
        verdicts[learner] = doc["lab"]["verdict"]
        assert doc["lab"]["learner"] == learner
    assert verdicts == {"ada": "pass", "bo": "fail", "cy": "error", "zed": "error"}
    cy = json.loads((out / "cy" / "report.json").read_text())
    assert cy["status"] == "error" and "could not fetch" in cy["message"] and cy["max_score"] == 10
    assert "has no dbt_project/" in json.loads((out / "zed" / "report.json").read_text())["message"]
    summary = json.loads((out / "roster.json").read_text())
    assert [(s["learner"], s["verdict"]) for s in summary] == [(n, verdicts[n]) for n in ("ada", "cy", "bo", "zed")]
    table = (out / "rollup.md").read_text()
    assert "4 learner(s): 1 pass, 1 fail, 2 error" in table
    assert {(out / n).exists() for n in ("rollup.csv", "rollup.html")} == {True}


def test_only_and_statuses(tmp_path: Path, monkeypatch) -> None:
    ada = learner_repo(tmp_path / "src" / "ada")
    bo = learner_repo(tmp_path / "src" / "bo")
    path = tmp_path / "roster.csv"
    path.write_text(f"learner,repo,ref\nada,{ada},main\nbo,{bo},main\n")
    monkeypatch.delenv(roster.TOKEN_ENV, raising=False)
    with pytest.raises(LabError, match="needs a token"):
        roster.run(path, tmp_path / "out", roster.Options(post_status=True), grade_fn=_fake_grade([], {}))
    with pytest.raises(LabError, match="not in roster.csv: nobody"):
        roster.run(path, tmp_path / "out", roster.Options(only=["nobody"]), grade_fn=_fake_grade([], {}))
    posted = []

    def poster(url, sha, body, token):
        posted.append((url, sha, body["state"], token))
        return "posted"

    calls: list = []
    monkeypatch.setenv(roster.TOKEN_ENV, "s3cret")
    code = roster.run(path, tmp_path / "out", roster.Options(only=["bo"], post_status=True, status_url="u"),
                      grade_fn=_fake_grade(calls, {"bo": "failed"}), poster=poster)
    assert code == 0 and [c["learner"] for c in calls] == ["bo"]
    assert posted == [(str(bo), git(bo, "rev-parse", "HEAD"), "failure", "s3cret")]
    assert json.loads((tmp_path / "out" / "roster.json").read_text())[0]["status"] == "posted"


def test_the_rosters_facts_reach_the_trusted_grader(tmp_path: Path, monkeypatch) -> None:
    """`lab grade` re-executes itself from the trusted copy: the learner's facts and `--no-session` go along,
    and the trusted process's command line reads them back."""
    from checks import cli, grade, trusted

    lab_repo = learner_repo(tmp_path / "lab")
    seen = {}
    monkeypatch.setattr(trusted, "is_trusted", lambda: False)
    monkeypatch.setattr(trusted, "prepare", lambda repo, sha, settings: tmp_path / "trusted")
    monkeypatch.setattr(trusted, "reexec", lambda root, argv, settings: seen.setdefault("argv", argv) and 0)
    grade.main([str(tmp_path / "clone")], base="main", out=tmp_path / "out", repo=lab_repo, probe_seed=None,
               timeout=60, reset=True, guard=False, facts={"learner": "ada", "ref": "a=b"}, session=False)
    argv = seen["argv"]
    assert argv[0] == "grade" and argv[argv.index("--base") + 1] == git(lab_repo, "rev-parse", "HEAD")
    ctx = cli.grade.make_context("grade", argv[1:])
    assert ctx.params["facts"] == ("learner=ada", "ref=a=b") and ctx.params["no_session"] and ctx.params["no_guard"]
    assert dict(cli._fact(f) for f in ctx.params["facts"]) == {"learner": "ada", "ref": "a=b"}
