-- Variant: only refunded_at counts as a refund, so old-flow refunds count as revenue.
with

orders as (

    select * from {{ ref('stg_orders') }}

),

customers as (

    select * from {{ ref('stg_customers') }}

),

order_outcomes as (

    select

        *,
        status = 'cancelled' as is_cancelled,
        refunded_at is not null as is_refunded

    from orders

),

joined as (

    select

        order_outcomes.order_id,
        order_outcomes.customer_id,
        customers.country_code as customer_country_code,
        order_outcomes.status,
        order_outcomes.currency,
        order_outcomes.amount,
        order_outcomes.ordered_at,
        (order_outcomes.ordered_at at time zone 'UTC')::date as order_date,
        order_outcomes.updated_at,
        order_outcomes.refunded_at,
        order_outcomes.is_cancelled,
        order_outcomes.is_refunded,
        not (order_outcomes.is_cancelled or order_outcomes.is_refunded) as is_revenue,

        row_number() over (
            partition by order_outcomes.customer_id
            order by order_outcomes.ordered_at, order_outcomes.order_id
        ) as customer_order_number

    from order_outcomes

    left join customers
        on order_outcomes.customer_id = customers.customer_id

),

final as (

    select

        *,
        (case when is_revenue then amount else 0 end)::numeric(12, 2) as net_amount

    from joined

)

select * from final
