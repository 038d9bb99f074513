"""Finding PostgreSQL and Java on machines the lab cannot test on directly: fake directory layouts of
Homebrew (Apple silicon and Intel), Postgres.app, Debian, pg_config on PATH, and macOS's java stub."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab import platform
from lab.errors import LabError

pytestmark = pytest.mark.unit


def fake_pg(bindir: Path, version: str = "16.4") -> Path:
    """A folder with initdb, pg_ctl and a postgres that prints its version, as a real install has."""
    bindir.mkdir(parents=True, exist_ok=True)
    for tool in ("initdb", "pg_ctl"):
        (bindir / tool).write_text("#!/bin/sh\nexit 0\n")
        (bindir / tool).chmod(0o755)
    (bindir / "postgres").write_text(f"#!/bin/sh\necho 'postgres (PostgreSQL) {version}'\n")
    (bindir / "postgres").chmod(0o755)
    return bindir


def env(tmp_path: Path, *path: Path) -> dict[str, str]:
    empty = tmp_path / "empty-bin"
    empty.mkdir(exist_ok=True)
    return {"PATH": ":".join(str(p) for p in [*path, empty])}


def test_homebrew_on_apple_silicon_is_found_though_keg_only(tmp_path: Path) -> None:
    root = tmp_path / "root"
    fake_pg(root / "opt/homebrew/opt/postgresql@14/bin", "14.11")
    want = fake_pg(root / "opt/homebrew/opt/postgresql@16/bin", "16.4")
    found = platform.find_postgres(env(tmp_path), root)
    assert (found.path, found.version, found.how) == (want, 16, "Homebrew")


def test_homebrew_on_intel_and_postgres_app(tmp_path: Path) -> None:
    root = tmp_path / "root"
    want = fake_pg(root / "usr/local/opt/postgresql@15/bin", "15.8")
    assert platform.find_postgres(env(tmp_path), root).path == want
    root2 = tmp_path / "root2"
    app = fake_pg(root2 / "Applications/Postgres.app/Contents/Versions/17/bin", "17.2")
    found = platform.find_postgres(env(tmp_path), root2)
    assert (found.path, found.how) == (app, "Postgres.app")


def test_pg_config_on_path_comes_first(tmp_path: Path) -> None:
    root = tmp_path / "root"
    fake_pg(root / "usr/lib/postgresql/15/bin", "15.8")
    custom = fake_pg(tmp_path / "custom/pgsql/bin", "16.1")
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "pg_config").write_text(f"#!/bin/sh\n[ \"$1\" = --bindir ] && echo {custom}\n")
    (tools / "pg_config").chmod(0o755)
    found = platform.find_postgres(env(tmp_path, tools), root)
    assert found.path == custom and found.how.startswith("pg_config")


def test_too_old_only_is_named_with_the_fix(tmp_path: Path) -> None:
    root = tmp_path / "root"
    fake_pg(root / "usr/lib/postgresql/13/bin", "13.9")
    with pytest.raises(LabError) as err:
        platform.find_postgres(env(tmp_path), root)
    assert "found only PostgreSQL 13" in err.value.problem and "LAB_PG_BINDIR" in err.value.fix


def test_lab_pg_bindir_wins(tmp_path: Path) -> None:
    mine = fake_pg(tmp_path / "mine", "15.1")
    fake_pg(tmp_path / "root/opt/homebrew/opt/postgresql@17/bin", "17.0")
    assert platform.find_postgres({"LAB_PG_BINDIR": str(mine), "PATH": ""}, tmp_path / "root").path == mine


def test_macos_hints_are_brew(monkeypatch) -> None:
    monkeypatch.setattr(platform, "is_macos", lambda: True)
    assert platform.install_hint("postgresql") == "brew install postgresql@16"
    assert platform.install_hint("java") == "brew install openjdk@17"
    assert platform.install_hint("maven") == "brew install maven"


def test_the_macos_java_stub_is_not_a_java(tmp_path: Path, monkeypatch) -> None:
    """/usr/bin/java on a Mac without a JDK prints a hint and no version: 'not found', not 'Java ? too old'."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "java"
    stub.write_text("#!/bin/sh\necho 'The operation couldn’t be completed. Unable to locate a Java Runtime.' >&2\n"
                    "exit 1\n")
    stub.chmod(0o755)
    monkeypatch.setattr(platform, "is_macos", lambda: False)
    with pytest.raises(LabError) as err:
        platform.find_java({"PATH": str(bin_dir)})
    assert err.value.problem == "Java 17+ not found"


def test_java_home_first_then_path(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(platform, "is_macos", lambda: False)
    home = tmp_path / "jdk"
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("#!/bin/sh\necho 'openjdk version \"21.0.2\" 2024-01-16' >&2\n")
    (home / "bin" / "java").chmod(0o755)
    assert platform.find_java({"JAVA_HOME": str(home), "PATH": ""}) == str(home / "bin" / "java")


@pytest.mark.parametrize(("path", "refused"), [("/mnt/c/Users/me/lab", True), ("/mnt/d", True),
                                               ("/home/me/lab", False), ("/mnt/data-disk/lab", False)])
def test_a_windows_drive_under_wsl_is_refused(path: str, refused: bool) -> None:
    if refused:
        with pytest.raises(LabError, match="Windows drive"):
            platform.refuse_windows_drive(Path(path), wsl=True)
    else:
        platform.refuse_windows_drive(Path(path), wsl=True)
    platform.refuse_windows_drive(Path(path), wsl=False)  # outside WSL /mnt/c is just a folder


def test_wsl_is_recognised(tmp_path: Path) -> None:
    version = tmp_path / "version"
    version.write_text("Linux version 5.15.153.1-microsoft-standard-WSL2 (root@1c602f52c2e4)\n")
    assert platform.is_wsl(version, {})
    version.write_text("Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org)\n")
    assert not platform.is_wsl(version, {})
    assert platform.is_wsl(version, {"WSL_DISTRO_NAME": "Ubuntu"})
