-- An order contributes between nothing and its full amount to revenue, never more and never less.
select
    order_id,
    amount,
    net_amount
from {{ ref('fct_orders') }}
where net_amount < 0
   or net_amount > amount
