with

source as (

    select * from {{ source('shop', 'orders') }}

),

renamed as (

    select

        ----------  ids
        order_id,
        customer_id,

        ---------- text
        status,
        currency,

        ---------- numerics
        amount,

        ---------- timestamps
        created_at as ordered_at,
        updated_at

    from source

)

select * from renamed
