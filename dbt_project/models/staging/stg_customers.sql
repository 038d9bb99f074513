with

source as (

    select * from {{ source('shop', 'customers') }}

),

renamed as (

    select

        ----------  ids
        customer_id,

        ---------- text
        name as customer_name,
        email,
        country as country_code,

        ---------- timestamps
        created_at

    from source

)

select * from renamed
