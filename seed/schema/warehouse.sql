-- warehouse: roles, landing schema, dbt's schema, finance's export and the lab's ops tables.
-- Run as a superuser on a freshly created database. Roles are cluster-wide, so they are created only
-- if missing; everything else is per database and created here.

do $$
declare
    role_name text;
begin
    foreach role_name in array array['lab_sink', 'lab_transformer', 'lab_tester', 'lab_finance'] loop
        if not exists (select from pg_roles where rolname = role_name) then
            execute format('create role %I login', role_name);
        else
            execute format('alter role %I login', role_name);
        end if;
    end loop;
end
$$;

comment on role lab_sink is 'Debezium JDBC sink: writes the raw landing tables';
comment on role lab_transformer is 'dbt models: reads raw, builds analytics; no access to erp';
comment on role lab_tester is 'dbt tests: reads raw, analytics, erp and ops';
comment on role lab_finance is 'finance export: writes erp control totals';

revoke create on schema public from public;

-- raw: the CDC landing zone, one upserted mirror table per OLTP table -------------------------------

create schema raw authorization lab_sink;

set role lab_sink;

create function raw.set_synced_at() returns trigger
language plpgsql as $$
begin
    new._synced_at := clock_timestamp();
    return new;
end
$$;

create table raw.customers (
    customer_id bigint      primary key,
    name        text        not null,
    email       text        not null,
    country     char(2)     not null,
    created_at  timestamptz not null,
    _synced_at  timestamptz not null default clock_timestamp()
);

create table raw.orders (
    order_id    bigint        primary key,
    customer_id bigint        not null,
    status      text          not null,
    amount      numeric(12,2) not null,
    currency    char(3)       not null,
    created_at  timestamptz   not null,
    updated_at  timestamptz   not null,
    refunded_at timestamptz   null,
    _synced_at  timestamptz   not null default clock_timestamp()
);

comment on column raw.customers._synced_at is 'when the row last landed in the warehouse';
comment on column raw.orders._synced_at is 'when the row last landed in the warehouse';

create trigger customers_synced_at before insert or update on raw.customers
    for each row execute function raw.set_synced_at();
create trigger orders_synced_at before insert or update on raw.orders
    for each row execute function raw.set_synced_at();

create index customers_synced_at_idx on raw.customers (_synced_at);
create index orders_synced_at_idx on raw.orders (_synced_at);

reset role;

grant usage on schema raw to lab_transformer, lab_tester;
grant select on all tables in schema raw to lab_transformer, lab_tester;
alter default privileges for role lab_sink in schema raw grant select on tables to lab_transformer, lab_tester;

-- analytics: dbt's target schema ------------------------------------------------------------------

create schema analytics authorization lab_transformer;
grant usage, create on schema analytics to lab_transformer;
grant usage on schema analytics to lab_tester;
alter default privileges for role lab_transformer in schema analytics grant select on tables to lab_tester;
-- The checker builds a learner's models into a schema of its own (lab_transformer creates it; the
-- database-level CREATE is granted by the lab after each clone, since clones do not copy database ACLs).
alter default privileges for role lab_transformer grant usage on schemas to lab_tester;
alter default privileges for role lab_transformer grant select on tables to lab_tester;

-- erp: finance's export of the ledger's control totals (models must not read it) -----------------

create schema erp authorization lab_finance;

create table erp.daily_control_totals (
    revenue_date  date          primary key,
    gross_sales   numeric(14,2) not null,
    refunds       numeric(14,2) not null,
    cancellations numeric(14,2) not null,
    net_revenue   numeric(14,2) not null,
    entries       int           not null,
    exported_at   timestamptz   not null
);
alter table erp.daily_control_totals owner to lab_finance;
comment on table erp.daily_control_totals is
    'ERP ledger control totals per revenue date (order date, UTC), exported by finance; '
    'refunds and cancellations are negative';

grant usage on schema erp to lab_tester;
grant select on all tables in schema erp to lab_tester;
alter default privileges for role lab_finance in schema erp grant select on tables to lab_tester;

-- ops: the lab's own bookkeeping -------------------------------------------------------------------

create schema ops;

create table ops.dbt_runs (
    run_id        bigint      generated always as identity primary key,
    started_at    timestamptz not null,
    finished_at   timestamptz,
    status        text        not null check (status in ('success', 'error')),
    models_built  int         not null default 0,
    tests_passed  int         not null default 0,
    tests_failed  int         not null default 0,
    trigger       text        not null
);

create table ops.alerts (
    alert_id bigint      generated always as identity primary key,
    fired_at timestamptz not null,
    source   text        not null,
    severity text        not null,
    message  text        not null
);

create table ops.lab_state (
    key   text  primary key,
    value jsonb not null
);

-- The incident timeline (`lab debrief`): what the learner did, on the wall clock.
create table ops.lab_events (
    event_id bigint      generated always as identity primary key,
    at       timestamptz not null default clock_timestamp(),
    kind     text        not null,
    detail   jsonb       not null default '{}'
);

grant usage on schema ops to lab_tester;
grant select on all tables in schema ops to lab_tester;
alter default privileges in schema ops grant select on tables to lab_tester;

-- The test role may read the ERP, so it must never own an object outside its own session: a view or
-- function it owned would read erp for whoever uses it, a model included. Every DDL statement of
-- lab_tester that leaves something behind is refused (dbt's unit tests make temporary tables, which die
-- with the session and no other session can see). (checks/privileges.py verifies this trigger.)
create function ops.refuse_test_role_ddl() returns event_trigger
language plpgsql as $$
declare
    cmd record;
begin
    if current_user <> 'lab_tester' and session_user <> 'lab_tester' then
        return;
    end if;
    for cmd in select * from pg_event_trigger_ddl_commands() loop
        if cmd.schema_name is null or cmd.schema_name not like 'pg\_temp%' then
            raise exception 'the test role lab_tester may not create or change objects (% %)',
                cmd.command_tag, cmd.object_identity
                using hint = 'tests only read: build what they need in a model';
        end if;
    end loop;
end
$$;
create event trigger lab_test_role_reads_only on ddl_command_end
    execute function ops.refuse_test_role_ddl();
