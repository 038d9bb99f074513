"""What this machine is and where its tools are: PostgreSQL's server binaries, a Java 17+, the package
manager whose command fixes what is missing — on Debian/Ubuntu, macOS (Homebrew, Postgres.app) and WSL.

Every lookup takes the environment and a filesystem root, so the discovery is tested on fake layouts
(tests/unit/test_platform.py) without the tools installed.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from lab.errors import ExitCode, LabError

PG_MIN = 15
JAVA_MIN = 17
PG_TOOLS = ("initdb", "pg_ctl", "postgres")


def is_macos() -> bool:
    return sys.platform == "darwin"


def is_wsl(proc_version: Path = Path("/proc/version"), environ: dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    if env.get("WSL_DISTRO_NAME") or env.get("WSL_INTEROP"):
        return True
    try:
        return "microsoft" in proc_version.read_text().lower()
    except OSError:
        return False


def refuse_windows_drive(path: Path, wsl: bool | None = None) -> None:
    """A lab on /mnt/c under WSL runs over the 9P bridge: PostgreSQL refuses its permissions and every file
    operation is slow. One line, before anything is created."""
    wsl = is_wsl() if wsl is None else wsl
    if wsl and re.match(r"^/mnt/[a-z](/|$)", str(path)):
        raise LabError(f"the lab is on a Windows drive ({path}) — PostgreSQL cannot keep its data there",
                       "clone it inside WSL's own file system, e.g. `cd ~ && git clone …`, and run it from there",
                       ExitCode.USAGE)


def install_hint(what: str) -> str:
    """The command that installs `what` (postgresql, java, maven) on this kind of machine."""
    brew = {"postgresql": "brew install postgresql@16", "java": "brew install openjdk@17",
            "maven": "brew install maven"}
    apt = {"postgresql": "sudo apt-get install -y postgresql",
           "java": "sudo apt-get install -y openjdk-17-jdk-headless", "maven": "sudo apt-get install -y maven"}
    if is_macos():
        return brew[what]
    if shutil.which("apt-get"):
        return apt[what]
    return {"postgresql": "install PostgreSQL 15+ server binaries with your package manager",
            "java": "install a JDK 17+ with your package manager", "maven": "install Maven"}[what]


# -- PostgreSQL -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    path: Path
    version: int
    how: str  # how it was found, shown to the user


def _major_of(bindir: Path) -> int:
    try:
        out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    m = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
    return int(m.group(1)) if m else 0


def _pg_config_bindir(pg_config: str) -> Path | None:
    try:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None


def _newest_first(paths: list[str]) -> list[Path]:
    def version(p: str) -> float:
        m = re.search(r"(\d+(?:\.\d+)?)", p)
        return float(m.group(1)) if m else 0.0
    return [Path(p) for p in sorted(paths, key=version, reverse=True)]


def postgres_candidates(environ: dict[str, str] | None = None, root: Path = Path("/")) -> list[tuple[Path, str]]:
    """Where PostgreSQL's server binaries may be, in the order they are tried, with how each was found."""
    env = os.environ if environ is None else environ
    out: list[tuple[Path, str]] = []
    if env.get("LAB_PG_BINDIR"):
        return [(Path(env["LAB_PG_BINDIR"]), "LAB_PG_BINDIR")]
    path = env.get("PATH", "")
    pg_config = shutil.which("pg_config", path=path)
    if pg_config and (bindir := _pg_config_bindir(pg_config)):
        out.append((bindir, f"pg_config ({pg_config})"))
    r = str(root).rstrip("/")
    for pattern, how in ((f"{r}/opt/homebrew/opt/postgresql@*/bin", "Homebrew"),
                         (f"{r}/opt/homebrew/opt/postgresql/bin", "Homebrew"),
                         (f"{r}/usr/local/opt/postgresql@*/bin", "Homebrew"),
                         (f"{r}/usr/local/opt/postgresql/bin", "Homebrew"),
                         (f"{r}/Applications/Postgres.app/Contents/Versions/*/bin", "Postgres.app"),
                         (f"{r}/usr/lib/postgresql/*/bin", "Debian's packages"),
                         (f"{r}/usr/pgsql-*/bin", "PGDG packages")):
        out += [(p, how) for p in _newest_first(glob.glob(pattern))]
    pg_ctl = shutil.which("pg_ctl", path=path)
    if pg_ctl:
        out.append((Path(pg_ctl).resolve().parent, "PATH"))
    return out


def find_postgres(environ: dict[str, str] | None = None, root: Path = Path("/")) -> Found:
    seen_old: list[str] = []
    for bindir, how in postgres_candidates(environ, root):
        if not all((bindir / tool).exists() for tool in PG_TOOLS):
            continue
        major = _major_of(bindir)
        if major >= PG_MIN:
            return Found(bindir, major, how)
        seen_old.append(f"{major or '?'} in {bindir}")
    old = f" (found only PostgreSQL {', '.join(seen_old)})" if seen_old else ""
    raise LabError(f"PostgreSQL {PG_MIN}+ server binaries (initdb, pg_ctl, postgres) not found{old}",
                   f"install them (`{install_hint('postgresql')}`) or set LAB_PG_BINDIR to their folder; or use "
                   "Docker: LAB_RUNTIME=docker make lab-up", ExitCode.LAB_UNHEALTHY)


# -- Java -------------------------------------------------------------------------------------------------


def java_major(java: str) -> int:
    """The major version a `java` prints, 0 when it prints none (macOS's stub without a JDK)."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not m:
        return 0
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def java_candidates(environ: dict[str, str] | None = None) -> list[tuple[str, str]]:
    env = os.environ if environ is None else environ
    out: list[tuple[str, str]] = []
    if env.get("JAVA_HOME"):
        out.append((str(Path(env["JAVA_HOME"]) / "bin" / "java"), "JAVA_HOME"))
    if is_macos() and Path("/usr/libexec/java_home").exists():
        # macOS: /usr/bin/java is a stub even with no JDK installed; java_home names the real ones.
        res = subprocess.run(["/usr/libexec/java_home", "-v", f"{JAVA_MIN}+"], capture_output=True, text=True)
        if res.returncode == 0 and res.stdout.strip():
            out.append((str(Path(res.stdout.strip()) / "bin" / "java"), "/usr/libexec/java_home"))
        for brew in ("/opt/homebrew/opt/openjdk@17/bin/java", "/opt/homebrew/opt/openjdk/bin/java",
                     "/usr/local/opt/openjdk@17/bin/java", "/usr/local/opt/openjdk/bin/java"):
            out.append((brew, "Homebrew"))
    found = shutil.which("java", path=env.get("PATH", ""))
    if found:
        out.append((found, "PATH"))
    return out


def find_java(environ: dict[str, str] | None = None) -> str:
    too_old: list[str] = []
    for java, _how in java_candidates(environ):
        if not Path(java).exists():
            continue
        major = java_major(java)
        if major >= JAVA_MIN:
            return java
        if major:  # a stub that prints no version is not a Java at all
            too_old.append(f"Java {major} at {java}")
    if too_old:
        raise LabError(f"{too_old[0]} is too old: Kafka 4 needs Java {JAVA_MIN}+",
                       f"install a JDK {JAVA_MIN}+ (`{install_hint('java')}`) and put it first on PATH (or set "
                       "JAVA_HOME)", ExitCode.LAB_UNHEALTHY)
    raise LabError(f"Java {JAVA_MIN}+ not found", f"install a JDK {JAVA_MIN}+ (`{install_hint('java')}`) or set "
                   "JAVA_HOME; or use Docker: LAB_RUNTIME=docker make lab-up", ExitCode.LAB_UNHEALTHY)
