"""End-to-end proof of the docker prototype: OLTP row -> Debezium -> Kafka -> JDBC sink -> warehouse.

Run with the lab's virtualenv (psycopg, confluent_kafka, httpx, jinja2) against a running
`docker-compose -p <name> -f stack/docker/compose.prototype.yaml up -d`:

    .venv/bin/python stack/docker/smoke.py setup     # schema, roles, publication, topics, connectors, 1 row
    .venv/bin/python stack/docker/smoke.py verify    # (after down/up) earlier rows still there + a new row flows

Ports come from LAB_PORT_OLTP / LAB_PORT_WAREHOUSE / LAB_PORT_KAFKA / LAB_PORT_CONNECT (the prototype's
defaults otherwise). The connectors are rendered from stack/connectors/*.json for the container network.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import httpx
import jinja2
import psycopg
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = Path(__file__).resolve().parents[2]
PORTS = {name: int(os.environ.get(f"LAB_PORT_{name.upper()}", default))
         for name, default in (("oltp", 54320), ("warehouse", 54321), ("kafka", 19092), ("connect", 18083))}
# What the connectors see inside the compose network.
CONTAINER_VALUES = {"oltp_host": "oltp", "warehouse_host": "warehouse",
                    "ports": {"oltp": 5432, "warehouse": 5432}}
TOPICS = ["shop.public.orders", "shop.public.customers"]


def pg(name: str, db: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(f"host=127.0.0.1 port={PORTS[name]} user=lab dbname={db} connect_timeout=3",
                           autocommit=True)


def connectors() -> list[dict]:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    return [json.loads(env.from_string(p.read_text()).render(**CONTAINER_VALUES))
            for p in sorted((ROOT / "stack" / "connectors").glob("*.json"))]


def setup() -> None:
    with pg("oltp") as c:
        print("oltp wal_level:", c.execute("select current_setting('wal_level')").fetchone()[0])
        c.execute("""do $$ begin
            if not exists (select from pg_roles where rolname = 'lab_cdc') then
              create role lab_cdc login replication; end if; end $$""")
        if not c.execute("select 1 from pg_database where datname = 'shop'").fetchone():
            c.execute("create database shop")
    with pg("oltp", "shop") as c:
        if not c.execute("select to_regclass('public.orders')").fetchone()[0]:
            c.execute((ROOT / "seed" / "schema" / "shop.sql").read_text().encode())
            c.execute("grant usage on schema public to lab_cdc")
            c.execute("grant select on all tables in schema public to lab_cdc")
            c.execute("create publication lab_shop for table orders, customers")
            c.execute("insert into customers values (1, 'Ada', 'ada@example.com', 'GB', now())")
            c.execute("insert into orders (customer_id, status, amount, created_at, updated_at)"
                      " values (1, 'paid', 100.00, now(), now())")  # lands through the snapshot
    with pg("warehouse") as c:
        if not c.execute("select 1 from pg_database where datname = 'warehouse'").fetchone():
            c.execute("create database warehouse")
    with pg("warehouse", "warehouse") as c:
        if not c.execute("select to_regclass('raw.orders')").fetchone()[0]:
            c.execute((ROOT / "seed" / "schema" / "warehouse.sql").read_text().encode())
    admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{PORTS['kafka']}"})
    md = admin.list_topics(timeout=5)
    print("kafka from the host:", {b.id: f"{b.host}:{b.port}" for b in md.brokers.values()})
    missing = [NewTopic(t, num_partitions=1, replication_factor=1) for t in TOPICS if t not in md.topics]
    for fut in (admin.create_topics(missing, operation_timeout=10).values() if missing else []):
        fut.result()
    with httpx.Client(base_url=f"http://127.0.0.1:{PORTS['connect']}", timeout=10) as http:
        plugins = sorted(p["class"] for p in http.get("/connector-plugins").json())
        print("connect plugins:", plugins)
        for spec in connectors():
            r = http.put(f"/connectors/{spec['name']}/config", json=spec["config"])
            print(f"PUT {spec['name']}: {r.status_code}")
            r.raise_for_status()
    wait_running()
    flow("after setup")


def wait_running(timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=f"http://127.0.0.1:{PORTS['connect']}", timeout=10) as http:
        for spec in connectors():
            while True:
                st = http.get(f"/connectors/{spec['name']}/status")
                doc = st.json() if st.status_code == 200 else {}
                states = [doc.get("connector", {}).get("state")] + [t["state"] for t in doc.get("tasks", [])]
                if len(states) > 1 and all(s == "RUNNING" for s in states):
                    print(f"{spec['name']}: connector and {len(states) - 1} task(s) RUNNING")
                    break
                if "FAILED" in states or time.monotonic() > deadline:
                    sys.exit(f"{spec['name']} not RUNNING: {json.dumps(doc)[:800]}")
                time.sleep(0.3)


def flow(label: str) -> None:
    """Insert an order in the OLTP, wait until the warehouse has it."""
    with pg("oltp", "shop") as c:
        oid = c.execute("insert into orders (customer_id, status, amount, created_at, updated_at)"
                        " values (1, 'paid', 42.50, now(), now()) returning order_id").fetchone()[0]
    t0 = time.monotonic()
    with pg("warehouse", "warehouse") as w:
        while time.monotonic() - t0 < 60:
            row = w.execute("select order_id, status, amount from raw.orders where order_id = %s", (oid,)).fetchone()
            if row:
                total = w.execute("select count(*) from raw.orders").fetchone()[0]
                print(f"{label}: order {oid} in the warehouse after {time.monotonic() - t0:.2f} s: {row};"
                      f" raw.orders has {total} rows")
                return
            time.sleep(0.05)
    sys.exit(f"{label}: order {oid} did not reach the warehouse within 60 s")


def verify() -> None:
    with pg("oltp", "shop") as c:
        n_oltp = c.execute("select count(*) from orders").fetchone()[0]
        slot = c.execute("select slot_name, active from pg_replication_slots").fetchall()
    with pg("warehouse", "warehouse") as w:
        n_wh = w.execute("select count(*) from raw.orders").fetchone()[0]
    print(f"persisted: shop.orders {n_oltp} rows, warehouse raw.orders {n_wh} rows, slots {slot}")
    if n_oltp == 0 or n_wh != n_oltp:
        sys.exit("data did not survive, or the warehouse does not match the OLTP")
    wait_running()
    flow("after restart")


if __name__ == "__main__":
    {"setup": setup, "verify": verify}[sys.argv[1] if len(sys.argv) > 1 else "setup"]()
