-- The quarterly rollup must account for every order in fct_orders and every dollar of net_amount.
with

orders as (

    select
        count(*) as orders,
        coalesce(sum(net_amount), 0) as net_revenue
    from {{ ref('fct_orders') }}

),

quarters as (

    select
        coalesce(sum(orders), 0) as orders,
        coalesce(sum(net_revenue), 0) as net_revenue
    from {{ ref('revenue_quarterly') }}

)

select
    orders.orders as fct_orders_orders,
    quarters.orders as revenue_quarterly_orders,
    orders.net_revenue as fct_orders_net_revenue,
    quarters.net_revenue as revenue_quarterly_net_revenue
from orders
cross join quarters
where orders.orders <> quarters.orders
   or orders.net_revenue <> quarters.net_revenue
