"""What the learner's code may do in the warehouse, held by the database itself and verified by the checker.

Two roles run learner code: lab_transformer builds the models (reads raw, writes its own schemas, no erp),
lab_tester runs the tests (reads erp too, so a reconciliation test is possible). The ERP is the answer, so
the one thing that must never happen is the tester's right to read it reaching a model:
- the tester may not own anything — a view or function it owned would read erp for whoever uses it. An
  event trigger in the warehouse refuses every DDL statement of the tester (seed/schema/warehouse.sql);
  `require_guards` fails the check (ERROR) if that trigger is missing;
- the tester may not write where models read — `leaks` lists write grants on the transformer's objects to
  anyone else, schemas the transformer opened to others, and large objects the tester made (a criterion 5
  finding: such a grant has no place in an honest fix);
- the checker reads what the learner built only as the transformer (lab/incident.py `learner_reader`).
Role-level settings (`ALTER ROLE … SET`, which any role may do to itself) are cleared before each check
and reset, so one learner's settings never reach the next build.
"""

from __future__ import annotations

from dataclasses import dataclass

from checks.outcome import CheckError
from lab.api import Lab
from lab.dbt import TEST_ROLE, TRANSFORM_ROLE

GUARD_TRIGGER = "lab_test_role_reads_only"
WRITES = ("INSERT", "UPDATE", "DELETE", "TRUNCATE", "TRIGGER")


@dataclass
class Leak:
    what: str
    detail: str


def reset_role_settings(lab: Lab) -> None:
    with lab.warehouse.connect("warehouse") as conn:
        for role in (TRANSFORM_ROLE, TEST_ROLE):
            conn.execute(f"alter role {role} reset all")


def require_guards(lab: Lab) -> None:
    with lab.warehouse.connect("warehouse") as conn:
        row = conn.execute("select evtenabled from pg_event_trigger where evtname = %s", (GUARD_TRIGGER,)).fetchone()
    if not row or row[0] == "D":
        raise CheckError("the warehouse lacks the trigger that keeps the test role from creating objects",
                         "`lab reset` restores it; then check again")


_LEAKS = """
select 'write grant', format('%%s on %%I.%%I to %%s', a.privilege_type, n.nspname, c.relname,
                             coalesce(nullif(g.rolname, ''), 'PUBLIC'))
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
cross join lateral aclexplode(c.relacl) a
left join pg_roles g on g.oid = a.grantee
where c.relowner = %(transformer)s::regrole and a.grantee <> c.relowner and a.privilege_type = any(%(writes)s)
union all
select 'schema opened', format('CREATE on schema %%I to %%s', n.nspname, coalesce(nullif(g.rolname, ''), 'PUBLIC'))
from pg_namespace n
cross join lateral aclexplode(n.nspacl) a
left join pg_roles g on g.oid = a.grantee
where n.nspowner = %(transformer)s::regrole and a.grantee <> n.nspowner and a.privilege_type = 'CREATE'
union all
select 'owned by the test role', format('%%s %%s', kind, name) from (
    select 'relation' as kind, format('%%I.%%I', n.nspname, c.relname) as name from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
     where c.relowner = %(tester)s::regrole and n.nspname not like 'pg\\_temp\\_%%'
    union all
    select 'function', p.oid::regprocedure::text from pg_proc p where p.proowner = %(tester)s::regrole
    union all
    select 'schema', n.nspname::text from pg_namespace n where n.nspowner = %(tester)s::regrole
    union all
    select 'large object', l.oid::text from pg_largeobject_metadata l where l.lomowner = %(tester)s::regrole
) owned
order by 1, 2
"""


def leaks(lab: Lab) -> list[Leak]:
    with lab.warehouse.connect("warehouse") as conn:
        rows = conn.execute(_LEAKS, {"transformer": TRANSFORM_ROLE, "tester": TEST_ROLE,
                                     "writes": list(WRITES)}).fetchall()
    return [Leak(what, detail) for what, detail in rows]
