-- An order cannot change before it was placed; if it does, timestamps are being mangled on the way in.
select
    order_id,
    ordered_at,
    updated_at
from {{ ref('stg_orders') }}
where updated_at < ordered_at
