"""A private PostgreSQL server of the lab's own: its data directory under .lab/, its own port, loopback only.

PostgreSQL refuses to run as root, so when the caller is root (CI) the server runs as the `postgres`
system user that Debian's package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import subprocess
from pathlib import Path

import psutil
import psycopg

from lab import process
from lab.components.base import Health
from lab.config import LOOPBACK, Component, Settings
from lab.errors import ExitCode, LabError

SUPERUSER = "lab"
MIN_MAJOR = 15
APT_FIX = "install them with `sudo apt-get install -y postgresql` (or set LAB_PG_BINDIR to their folder)"


def find_bindir() -> Path:
    """Folder holding initdb/pg_ctl/postgres of the newest PostgreSQL >= 15 on this machine."""
    if env := os.environ.get("LAB_PG_BINDIR"):
        candidates = [Path(env)]
    else:
        candidates = sorted((Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")),
                            key=lambda p: int(re.sub(r"\D", "", p.parent.name) or 0), reverse=True)
        on_path = shutil.which("pg_ctl")
        if on_path:
            candidates.append(Path(on_path).resolve().parent)
    for cand in candidates:
        if all((cand / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            major = _major(cand)
            if major >= MIN_MAJOR:
                return cand
    raise LabError(f"PostgreSQL {MIN_MAJOR}+ server binaries (initdb, pg_ctl, postgres) not found", APT_FIX,
                   ExitCode.LAB_UNHEALTHY)


def _major(bindir: Path) -> int:
    out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True).stdout
    m = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(m.group(1)) if m else 0


def _run_as() -> list[str]:
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise LabError("running as root, and PostgreSQL refuses root, but there is no `postgres` user",
                       "run the lab as a normal user, or `apt-get install -y postgresql` (creates it)",
                       ExitCode.LAB_UNHEALTHY) from exc
    return ["runuser", "-u", "postgres", "--"]


def _give_to_postgres(path: Path) -> None:
    """As root: hand path to the postgres user, and let it traverse the folders above (o+x only)."""
    if os.geteuid() != 0:
        return
    pw = pwd.getpwnam("postgres")
    os.chown(path, pw.pw_uid, pw.pw_gid)
    for parent in path.parents:
        st = parent.stat()
        # Leave the data directory itself alone: PostgreSQL insists on 0700 there.
        if st.st_uid != pw.pw_uid and not st.st_mode & 0o001:
            os.chmod(parent, st.st_mode | 0o001)


class PostgresServer:
    def __init__(self, comp: Component, settings: Settings) -> None:
        self.name = comp.name
        self.comp = comp
        self.settings = settings
        self.port = settings.ports[comp.name]
        self.datadir = settings.lab_dir / "pg" / comp.name
        self.logfile = settings.log(comp.name)

    # connection details -------------------------------------------------------------------------
    def conninfo(self, dbname: str = "postgres", user: str = SUPERUSER) -> str:
        return f"host={LOOPBACK} port={self.port} dbname={dbname} user={user} connect_timeout=3"

    def connect(self, dbname: str = "postgres", user: str = SUPERUSER, autocommit: bool = True) -> psycopg.Connection:
        return psycopg.connect(self.conninfo(dbname, user), autocommit=autocommit)

    # lifecycle ----------------------------------------------------------------------------------
    @property
    def initialised(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def init(self) -> bool:
        """initdb once; returns True when the cluster was created now."""
        if self.initialised:
            return False
        bindir = find_bindir()
        self.datadir.parent.mkdir(parents=True, exist_ok=True)
        _give_to_postgres(self.datadir.parent)
        out = subprocess.run([*_run_as(), str(bindir / "initdb"), "-D", str(self.datadir), "-A", "trust",
                              "-U", SUPERUSER, "-E", "UTF8", "--locale=C", "-N"],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise LabError(f"initdb for {self.name} failed", f"see {self.datadir}",
                           ExitCode.LAB_UNHEALTHY, detail=out.stderr[-2000:])
        with open(self.datadir / "postgresql.conf", "a") as conf:
            conf.write("\n# Settings of the lab (stack/components.toml), rewritten on every start.\n"
                       "include_if_exists = 'lab.conf'\n")
        return True

    def _write_conf(self) -> None:
        lines = [f"port = {self.port}", f"listen_addresses = '{LOOPBACK}'",
                 # TCP only: socket paths under a deep checkout can exceed the 107-byte limit.
                 "unix_socket_directories = ''", "fsync = on"]
        lines += [f"{k} = '{v}'" for k, v in self.comp.spec.get("settings", {}).items()]
        conf = self.datadir / "lab.conf"
        conf.write_text("\n".join(lines) + "\n")
        _give_to_postgres(conf)

    def pid(self) -> int | None:
        if self.settings.runtime == "docker":
            from lab.runtime import docker

            return docker.container_pid(self.settings, self.name)
        pidfile = self.datadir / "postmaster.pid"
        return process.read_pid(pidfile, marker="postgres") if pidfile.exists() else None

    def start(self) -> None:
        if self.pid() or self.settings.runtime == "docker":  # compose starts the containers
            return
        self.init()
        process.require_free_port(self.port, self.name)
        self._write_conf()
        self._clear_stale_lock()
        self.logfile.parent.mkdir(parents=True, exist_ok=True)
        self.logfile.touch()
        _give_to_postgres(self.logfile)
        out = subprocess.run([*_run_as(), str(find_bindir() / "pg_ctl"), "-D", str(self.datadir), "-l",
                              str(self.logfile), "-w", "-t", "60", "start"], capture_output=True, text=True)
        if out.returncode != 0:
            raise LabError(f"PostgreSQL {self.name} did not start on port {self.port}",
                           f"read {self.logfile}", ExitCode.LAB_UNHEALTHY,
                           detail=(out.stderr + "\n" + process.tail(self.logfile)).strip())

    def _clear_stale_lock(self) -> None:
        """After a crash (kill -9) postmaster.pid names a postmaster that is gone. PostgreSQL removes such a
        lock itself, unless the dead process is still a zombie waiting for its parent (or an init that does
        not reap, as in many containers) to collect it: it then takes it for a live server and refuses to
        start. Only the lock of such a zombie is removed; PostgreSQL's shared memory check still guards
        against backends of the old server that are still alive."""
        lock = self.datadir / "postmaster.pid"
        try:
            pid = int(lock.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return  # PostgreSQL sees this one as stale by itself
        lock.unlink(missing_ok=True)

    def wait_ready(self, timeout: float = 30) -> None:
        process.wait_for(self.ping, timeout, what=f"PostgreSQL {self.name}", log=self.logfile)

    def ping(self) -> bool:
        with self.connect() as conn:
            conn.execute("select 1")
        return True

    def stop(self, mode: str = "fast") -> None:
        if not self.pid():
            return
        subprocess.run([*_run_as(), str(find_bindir() / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w",
                        "-t", "30", "stop"], capture_output=True, text=True)
        pid = self.pid()
        if pid:
            process.stop(pid, timeout=5)

    def health(self) -> Health:
        pid = self.pid()
        if not pid:
            return Health(self.name, False, self.port, None, "not running")
        try:
            self.ping()
        except psycopg.Error as exc:
            return Health(self.name, False, self.port, pid, f"not answering: {str(exc).strip()[:80]}")
        return Health(self.name, True, self.port, pid, "accepting connections")

    def wipe(self) -> None:
        self.stop()
        shutil.rmtree(self.datadir, ignore_errors=True)
