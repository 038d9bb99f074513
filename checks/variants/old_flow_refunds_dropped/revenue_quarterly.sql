with

orders as (

    select * from {{ ref('fct_orders') }}

),

quarterly as (

    select

        date_trunc('quarter', order_date::timestamp)::date as quarter_start,
        count(*) as orders,
        sum(net_amount) as net_revenue

    from orders

    group by 1

),

final as (

    select

        to_char(quarter_start, 'YYYY-"Q"Q') as quarter,
        quarter_start,
        orders,
        net_revenue

    from quarterly

)

select * from final
