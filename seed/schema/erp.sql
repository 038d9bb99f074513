-- erp: the finance ledger, the system of record for revenue. The orders service posts to it directly
-- (not through CDC): a sale for every order, and a reversal of the full amount when an order is
-- cancelled or refunded. Revenue is recognised by order date: revenue_date is the order's created_at
-- date in UTC, also for the reversal.

create table ledger (
    entry_id     bigint        generated always as identity primary key,
    order_id     bigint        not null,
    kind         text          not null check (kind in ('sale', 'refund', 'cancellation')),
    amount       numeric(12,2) not null,
    revenue_date date          not null,
    posted_at    timestamptz   not null,
    constraint ledger_amount_sign check ((kind = 'sale') = (amount > 0))
);

-- One sale per order, and at most one reversal (refund or cancellation) per order.
create unique index ledger_sale_per_order_uidx on ledger (order_id) where kind = 'sale';
create unique index ledger_reversal_per_order_uidx on ledger (order_id) where kind <> 'sale';
create index ledger_revenue_date_idx on ledger (revenue_date);
create index ledger_posted_at_idx on ledger (posted_at);

create view quarterly_net_revenue as
select
    to_char(revenue_date, 'YYYY-"Q"Q') as quarter,
    sum(amount)                         as net_revenue
from ledger
group by 1;

-- Control totals per revenue date; refunds and cancellations are negative, as posted.
create view daily_control_totals as
select
    revenue_date,
    coalesce(sum(amount) filter (where kind = 'sale'), 0)::numeric(14,2)         as gross_sales,
    coalesce(sum(amount) filter (where kind = 'refund'), 0)::numeric(14,2)       as refunds,
    coalesce(sum(amount) filter (where kind = 'cancellation'), 0)::numeric(14,2) as cancellations,
    sum(amount)::numeric(14,2)                                                   as net_revenue,
    count(*)::int                                                                as entries
from ledger
group by revenue_date;
