"""The native runtime: every component is an OS process of this machine, its data, logs and pidfile under
the lab's home. PostgreSQL runs from the system's binaries (found by lab/platform.py), Kafka and Connect
with `java` from the jars resolved from Maven Central (lab/install.py), the lab's Python services with
this interpreter.

Processes start detached in their own session and outlive the `lab` command that started them
(lab/process.py). PostgreSQL refuses to run as root, so as root (CI) it runs as the `postgres` user.
"""

from __future__ import annotations

import base64
import os
import pwd
import shutil
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil

from lab import install, platform, process, ui
from lab.config import LOOPBACK, Component, Settings
from lab.errors import ExitCode, LabError
from lab.runtime import Endpoint
from lab.templates import render_text, write_if_changed

KAFKA_MAIN = "kafka.Kafka"
CONNECT_MAIN = "org.apache.kafka.connect.cli.ConnectDistributed"
# Small heaps and a fast-starting JIT: a lab moves kilobytes, and start-up time is what users feel.
JVM_FLAGS = ["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:+ExitOnOutOfMemoryError",
             "-Djava.awt.headless=true", "-Dfile.encoding=UTF-8"]


def available(settings: Settings) -> tuple[bool, str]:
    """Can the native runtime work here (prerequisites present, or installable by the lab)? And why not."""
    missing = []
    try:
        java = platform.find_java()
    except LabError as exc:
        missing.append(exc.problem)
    try:
        pg = platform.find_postgres()
    except LabError as exc:
        pg = None
        if not install.can_install_postgres(settings):
            missing.append(exc.problem)
    if not install.jars_cached(settings) and not shutil.which("mvn"):
        missing.append("Maven (needed once for the Kafka and Debezium jars) is not on PATH")
    if missing:
        return False, "native runtime: " + "; ".join(missing)
    found_pg = f"PostgreSQL {pg.version} ({pg.how})" if pg else "PostgreSQL installable with apt-get"
    return True, f"Java {platform.java_major(java)} and {found_pg} found"


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


class NativeRuntime:
    name = "native"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._java: str | None = None
        self._pg: Path | None = None

    # prerequisites ------------------------------------------------------------------------------------
    def prepare(self) -> None:
        self._java = platform.find_java()
        self._pg = install.ensure_postgres(self.settings)
        install.ensure_jars(self.settings)

    @property
    def java(self) -> str:
        if self._java is None:
            self._java = platform.find_java()
        return self._java

    @property
    def pg_bindir(self) -> Path:
        if self._pg is None:
            self._pg = platform.find_postgres().path
        return self._pg

    # where things are -----------------------------------------------------------------------------------
    def _port_name(self, comp: Component, port: str | None) -> str:
        return port or comp.name.replace("-", "_")

    def host(self, comp: Component, port: str | None = None) -> Endpoint:
        return Endpoint(LOOPBACK, self.settings.ports[self._port_name(comp, port)])

    def peer(self, comp: Component, port: str | None = None) -> Endpoint:
        return self.host(comp, port)

    def template_values(self) -> dict[str, Any]:
        return {"ports": dict(self.settings.ports), "bind_host": LOOPBACK, "kafka_host": LOOPBACK,
                "connect_host": LOOPBACK, "oltp_host": LOOPBACK, "warehouse_host": LOOPBACK,
                "kafka_extra_listeners": "", "kafka_extra_advertised_listeners": ""}

    def _datadir(self, comp: Component) -> Path:
        return self.settings.lab_dir / "pg" / comp.name

    def log_path(self, comp: Component) -> Path:
        return self.settings.log(comp.name)

    def log_tail(self, comp: Component, lines: int = 40) -> str:
        return process.tail(self.log_path(comp), lines)

    def follow_logs(self, comp: Component, lines: int) -> None:
        path = self.log_path(comp)
        if not path.exists():
            raise LabError(f"no log for {comp.name} yet ({path})", "start the lab with `make lab-up`")
        argv = ["tail", f"-n{lines}", "-F", str(path)]
        ui.info(f"[dim]$ {' '.join(argv)}[/]")
        subprocess.run(argv)

    # what runs ------------------------------------------------------------------------------------------
    def pid(self, comp: Component) -> int | None:
        if comp.kind == "postgres":
            pidfile = self._datadir(comp) / "postmaster.pid"
            return process.read_pid(pidfile, marker="postgres") if pidfile.exists() else None
        marker = {"kafka": KAFKA_MAIN, "connect": CONNECT_MAIN}.get(comp.kind) or comp.spec.get("module")
        return process.read_pid(self.settings.pidfile(comp.name), marker=marker)

    def running(self, comp: Component) -> bool:
        return self.pid(comp) is not None

    def handle(self, comp: Component) -> str | None:
        pid = self.pid(comp)
        return f"pid {pid}" if pid else None

    def preflight(self, comps: list[Component]) -> None:
        for comp in comps:
            if comp.port is None or self.running(comp):
                continue
            process.require_free_port(self.settings.ports[comp.name.replace("-", "_")], comp.name)
            if comp.kind == "kafka":
                process.require_free_port(self.settings.ports["kafka_controller"], "kafka-controller")

    def start(self, comps: list[Component]) -> None:
        """Each missing component at once: PostgreSQL's `pg_ctl start -w` waits for its server, the JVMs and
        Python services are spawned (Connect's admin client waits for the broker by itself)."""
        todo = [c for c in comps if not self.running(c)]
        starters = {"postgres": self._start_postgres, "kafka": self._start_kafka, "connect": self._start_connect,
                    "python": self._start_python}
        if len(todo) <= 1:
            for comp in todo:
                starters[comp.kind](comp)
            return
        with ThreadPoolExecutor(len(todo)) as pool:
            futures = [pool.submit(starters[c.kind], c) for c in todo]
        errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            raise errors[0]

    def stop(self, comps: list[Component]) -> None:
        if len(comps) > 1:
            with ThreadPoolExecutor(len(comps)) as pool:
                list(pool.map(lambda c: self.stop([c]), comps))
            return
        for comp in comps:
            pid = self.pid(comp)
            if not pid:
                continue
            if comp.kind == "postgres":
                subprocess.run([*_run_as(), str(self.pg_bindir / "pg_ctl"), "-D", str(self._datadir(comp)), "-m",
                                "fast", "-w", "-t", "30", "stop"], capture_output=True, text=True)
                pid = self.pid(comp)
                if pid:
                    process.stop(pid, timeout=5)
            else:
                process.stop(pid, timeout=20 if comp.kind in ("kafka", "connect") else 15)

    def kill(self, comp: Component) -> None:
        pid = self.pid(comp)
        if pid:
            process.kill9(pid)

    def down(self, wipe: bool) -> None:
        # Sweep anything of this lab that escaped its pidfile (e.g. a pidfile deleted by hand).
        for proc in process.lab_processes(self.settings.lab_dir):
            ui.warn(f"stopping leftover lab process {proc.pid}: {' '.join(proc.cmdline())[:100]}")
            process.stop(proc.pid, timeout=10)
        if wipe:
            shutil.rmtree(self.settings.lab_dir, ignore_errors=True)

    # PostgreSQL -----------------------------------------------------------------------------------------
    def _start_postgres(self, comp: Component) -> None:
        datadir = self._datadir(comp)
        port = self.settings.ports[comp.name]
        self._initdb(comp, datadir)
        process.require_free_port(port, comp.name)
        lines = [f"port = {port}", f"listen_addresses = '{LOOPBACK}'",
                 # TCP only: socket paths under a deep checkout can exceed the 107-byte limit.
                 "unix_socket_directories = ''", "fsync = on"]
        lines += [f"{k} = '{v}'" for k, v in comp.spec.get("settings", {}).items()]
        conf = datadir / "lab.conf"
        conf.write_text("\n".join(lines) + "\n")
        _give_to_postgres(conf)
        _clear_stale_lock(datadir)
        log = self.log_path(comp)
        log.parent.mkdir(parents=True, exist_ok=True)
        log.touch()
        _give_to_postgres(log)
        out = subprocess.run([*_run_as(), str(self.pg_bindir / "pg_ctl"), "-D", str(datadir), "-l", str(log), "-w",
                              "-t", "60", "start"], capture_output=True, text=True)
        if out.returncode != 0:
            raise LabError(f"PostgreSQL {comp.name} did not start on port {port}", f"read {log}",
                           ExitCode.LAB_UNHEALTHY, detail=(out.stderr + "\n" + process.tail(log)).strip())

    def _initdb(self, comp: Component, datadir: Path) -> None:
        if (datadir / "PG_VERSION").exists():
            return
        from lab.components.postgres import SUPERUSER

        datadir.parent.mkdir(parents=True, exist_ok=True)
        _give_to_postgres(datadir.parent)
        out = subprocess.run([*_run_as(), str(self.pg_bindir / "initdb"), "-D", str(datadir), "-A", "trust",
                              "-U", SUPERUSER, "-E", "UTF8", "--locale=C", "-N"], capture_output=True, text=True)
        if out.returncode != 0:
            raise LabError(f"initdb for {comp.name} failed", f"see {datadir}", ExitCode.LAB_UNHEALTHY,
                           detail=out.stderr[-2000:])
        with open(datadir / "postgresql.conf", "a") as conf:
            conf.write("\n# Settings of the lab (stack/components.toml), rewritten on every start.\n"
                       "include_if_exists = 'lab.conf'\n")

    # Kafka and Connect ----------------------------------------------------------------------------------
    def _java_argv(self, libdir: str, heap: str, main: str, *args: str) -> list[str]:
        log4j = self.settings.root / "stack" / "connect" / "log4j2.properties"
        return [self.java, f"-Xms{heap}", f"-Xmx{heap}", *JVM_FLAGS, f"-Dlog4j2.configurationFile={log4j}",
                "-cp", str(self.settings.jvm_dir / libdir / "*"), main, *args]

    def _render(self, comp: Component, dest: Path, **extra: Any) -> None:
        values = {**self.template_values(), **extra}
        write_if_changed(dest, render_text(self.settings.root / comp.spec["config"], values))

    def _start_kafka(self, comp: Component) -> None:
        home = self.settings.lab_dir / "kafka"
        config, datadir = home / "server.properties", home / "data"
        self._render(comp, config, data_dir=str(datadir))
        if not (datadir / "meta.properties").exists():
            # A KRaft cluster id is 16 random bytes, base64url without padding (what `random-uuid` prints);
            # passed with "=" because one in 64 ids starts with "-".
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
            out = subprocess.run(self._java_argv("broker", "128m", "kafka.tools.StorageTool", "format",
                                                 f"--cluster-id={cluster_id}", "-c", str(config)),
                                 capture_output=True, text=True)
            if out.returncode != 0:
                raise LabError("formatting the Kafka log directory failed", "run `lab down --wipe` and try again",
                               ExitCode.LAB_UNHEALTHY, detail=(out.stdout + out.stderr)[-2000:])
        argv = self._java_argv("broker", comp.spec.get("heap", "384m"), KAFKA_MAIN, str(config))
        process.spawn(argv, self.log_path(comp), self.settings.pidfile(comp.name))

    def _start_connect(self, comp: Component) -> None:
        config = self.settings.lab_dir / "connect" / "worker.properties"
        self._render(comp, config, plugin_path=str(self.settings.jvm_dir / "plugins"))
        argv = self._java_argv("connect", comp.spec.get("heap", "512m"), CONNECT_MAIN, str(config))
        process.spawn(argv, self.log_path(comp), self.settings.pidfile(comp.name))

    # the lab's Python services --------------------------------------------------------------------------
    def _start_python(self, comp: Component) -> None:
        env = {**os.environ, **self.settings.env(), "PYTHONUNBUFFERED": "1"}
        process.spawn([sys.executable, "-m", comp.spec["module"]], self.log_path(comp),
                      self.settings.pidfile(comp.name), env=env, cwd=self.settings.root)


def _clear_stale_lock(datadir: Path) -> None:
    """After a crash (kill -9) postmaster.pid names a postmaster that is gone. PostgreSQL removes such a
    lock itself, unless the dead process is still a zombie waiting for its parent (or an init that does not
    reap, as in many containers) to collect it: it then takes it for a live server and refuses to start.
    Only the lock of such a zombie is removed; PostgreSQL's shared memory check still guards against
    backends of the old server that are still alive."""
    lock = datadir / "postmaster.pid"
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
