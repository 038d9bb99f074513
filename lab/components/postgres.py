"""A PostgreSQL server of the lab's own (the OLTP database or the warehouse): how to reach it, when it is
ready, and whose lab it belongs to. The runtime (lab/runtime) starts and stops it.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from lab import process
from lab.components.base import Health
from lab.config import Component, Settings

SUPERUSER = "lab"
SEARCH_PATH = "public,pg_catalog"
# Each lab stamps its id on its databases: `lab status` then tells its own servers from another lab's that
# holds the same ports.
STAMP = "incident-lab "


class PostgresServer:
    def __init__(self, comp: Component, settings: Settings, runtime) -> None:
        self.name = comp.name
        self.comp = comp
        self.settings = settings
        self.runtime = runtime

    @property
    def port(self) -> int:
        return self.runtime.host(self.comp).port

    # connection details -------------------------------------------------------------------------
    def conninfo(self, dbname: str = "postgres", user: str = SUPERUSER) -> str:
        host = self.runtime.host(self.comp)
        return f"host={host.host} port={host.port} dbname={dbname} user={user} connect_timeout=3"

    def connect(self, dbname: str = "postgres", user: str = SUPERUSER, autocommit: bool = True,
                statement_timeout_s: float | None = None) -> psycopg.Connection:
        """A connection whose search_path is pinned: a learner's role may create schemas (dbt needs it), and
        a schema named like a connecting role would otherwise come first in that role's default path."""
        options = f"-c search_path={SEARCH_PATH}"
        if statement_timeout_s:
            options += f" -c statement_timeout={int(statement_timeout_s * 1000)}"
        return psycopg.connect(self.conninfo(dbname, user), autocommit=autocommit, options=options)

    # lifecycle (the runtime's) ------------------------------------------------------------------
    def pid(self) -> int | None:
        return self.runtime.pid(self.comp)

    def running(self) -> bool:
        return self.runtime.running(self.comp)

    def start(self) -> None:
        self.runtime.start([self.comp])

    def stop(self) -> None:
        self.runtime.stop([self.comp])

    def wait_ready(self, timeout: float = 60) -> None:
        process.wait_for(self.ping, timeout, what=f"PostgreSQL {self.name}", log=self.runtime.log_path(self.comp))

    def ping(self) -> bool:
        with self.connect() as conn:
            conn.execute("select 1")
        return True

    # whose lab ----------------------------------------------------------------------------------
    def stamp(self, dbname: str, lab_id: str) -> None:
        with self.connect() as conn:
            conn.execute(sql.SQL("comment on database {} is {}").format(sql.Identifier(dbname),
                                                                          sql.Literal(STAMP + lab_id)))

    def owner(self, dbname: str) -> str | None:
        """The id of the lab whose database answers on this port (None: not stamped, or not there)."""
        with self.connect() as conn:
            row = conn.execute("select shobj_description(oid, 'pg_database') from pg_database where datname = %s",
                               (dbname,)).fetchone()
        text = row[0] if row else None
        return text[len(STAMP):] if text and text.startswith(STAMP) else None

    def health(self) -> Health:
        handle = self.runtime.handle(self.comp)
        if not self.runtime.running(self.comp):
            return Health(self.name, False, self.port, None, "not running")
        try:
            self.ping()
        except psycopg.Error as exc:
            return Health(self.name, False, self.port, self.pid(), f"not answering: {str(exc).strip()[:80]}",
                          handle)
        return Health(self.name, True, self.port, self.pid(), "accepting connections", handle)
