"""First-use installation: Java check, PostgreSQL server binaries, and the JVM jars from Maven Central.

Everything lands outside the repo (the Maven local repository and the lab cache) and is reused:
a second run downloads nothing.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from lab import platform, ui
from lab.config import Settings
from lab.errors import ExitCode, LabError

_UNREACHABLE = re.compile(r"Could not transfer|Unknown ?host|UnknownHostException|Connection refused|"
                          r"Network is unreachable|timed out|Could not resolve|Failed to read artifact descriptor")


def _apt_prefix() -> list[str] | None:
    if not shutil.which("apt-get"):
        return None
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        return ["sudo", "-n"]
    return None


def can_install_postgres(settings: Settings) -> bool:
    return not settings.no_install and _apt_prefix() is not None


def ensure_postgres(settings: Settings) -> Path:
    """PostgreSQL's server binaries: found (lab/platform.py), or installed with apt-get where the lab may."""
    try:
        found = platform.find_postgres()
        return found.path
    except LabError:
        if not can_install_postgres(settings):
            raise
        prefix = _apt_prefix() or []
    with ui.step("installing PostgreSQL server binaries with apt-get (first run only)"):
        # Keep Debian from creating and starting a system cluster on 5432: the lab runs its own.
        conf = Path("/etc/postgresql-common/createcluster.conf")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        _run([*prefix, "apt-get", "update", "-q"], env)
        _run([*prefix, "apt-get", "install", "-y", "-q", "postgresql-common"], env)
        if conf.exists() and os.geteuid() == 0:
            text = conf.read_text()
            if "create_main_cluster = false" not in text:
                conf.write_text(text + "\ncreate_main_cluster = false\n")
        _run([*prefix, "apt-get", "install", "-y", "-q", "postgresql"], env)
    return platform.find_postgres().path


def _run(argv: list[str], env: dict[str, str]) -> None:
    out = subprocess.run(argv, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise LabError(f"`{' '.join(argv)}` failed",
                       f"install PostgreSQL yourself (`{platform.install_hint('postgresql')}`) or set LAB_PG_BINDIR",
                       ExitCode.LAB_UNHEALTHY,
                       detail=out.stderr[-1500:])


def manifest_hash(root: Path) -> str:
    h = hashlib.sha256()
    for pom in sorted((root / "stack" / "jvm").rglob("pom.xml")):
        h.update(pom.relative_to(root).as_posix().encode())
        h.update(pom.read_bytes())
    return h.hexdigest()[:16]


def jars_cached(settings: Settings) -> bool:
    return (settings.jvm_dir / f".resolved-{manifest_hash(settings.root)}").exists()


def ensure_jars(settings: Settings) -> Path:
    """The jars for broker, worker and plugins, resolved by Maven into the cache once."""
    marker = settings.jvm_dir / f".resolved-{manifest_hash(settings.root)}"
    if marker.exists():
        return settings.jvm_dir
    mvn = shutil.which("mvn")
    if not mvn:
        raise LabError("Maven (mvn) is needed once to fetch the Kafka and Debezium jars, and is not on PATH",
                       f"install it (`{platform.install_hint('maven')}`) and run `make lab-up` again",
                       ExitCode.LAB_UNHEALTHY)
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="jvm-", dir=settings.cache_dir))
    _clean_maven_targets(settings.root)
    with ui.step("resolving Kafka, Connect and Debezium jars from Maven Central (first run only)"):
        out = subprocess.run([mvn, "-B", "-q", "-f", str(settings.root / "stack" / "jvm" / "pom.xml"),
                              f"-Dlab.jvm.dir={staging}", "package"], capture_output=True, text=True)
    _clean_maven_targets(settings.root)
    if out.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        text = out.stdout + out.stderr
        if _UNREACHABLE.search(text):
            raise LabError("Maven Central is unreachable and the jar cache is empty",
                           f"connect to the internet for the first `make lab-up` (jars go to {settings.jvm_dir} "
                           "and ~/.m2, then it works offline)", ExitCode.LAB_UNHEALTHY, detail=text[-1500:])
        raise LabError("Maven could not resolve the lab's jars", "see the output above", ExitCode.LAB_UNHEALTHY,
                       detail=text[-3000:])
    if settings.jvm_dir.exists():
        shutil.rmtree(settings.jvm_dir)
    staging.rename(settings.jvm_dir)
    marker.touch()
    return settings.jvm_dir


def _clean_maven_targets(root: Path) -> None:
    for target in (root / "stack" / "jvm").rglob("target"):
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
