-- mart_allocation as it may leave the warehouse: the budget split per ward. The ward's need
-- value is the published one (publish.fct_indicator_values, same ward, indicator and period):
-- where that cell is suppressed the need value is NULL and need_is_suppressed is true; the
-- amounts, a planning output in pounds, are kept.

with

allocation as (

    select * from {{ ref('mart_allocation') }}

),

indicators as (

    select indicator_id, period_kind from {{ ref('dim_indicator') }}

),

need_cells as (

    select area_code as ward_code, indicator_id, period, value, is_suppressed
    from {{ ref('publish__fct_indicator_values') }}
    where area_type = 'ward' and category_type is null
    qualify row_number() over (
        partition by area_code, indicator_id, period order by sex, age
    ) = 1

)

select
    a.ward_code::varchar as ward_code,
    a.ward_name::varchar as ward_name,
    a.population::double as population,
    a.need_indicator_id::varchar as need_indicator_id,
    a.need_period::varchar as need_period,
    {{ period_start('a.need_period', 'i.period_kind') }}::date as need_period_start,
    {{ period_end('a.need_period', 'i.period_kind') }}::date as need_period_end,
    case when coalesce(n.is_suppressed, false) then null else a.need_value end::double
        as need_value,
    coalesce(n.is_suppressed, false)::boolean as need_is_suppressed,
    a.budget::double as budget,
    a.universal_share::double as universal_share,
    a.universal_amount::double as universal_amount,
    a.targeted_amount::double as targeted_amount,
    a.total_amount::double as total_amount,
    {{ disclosure_rules_version() }}::varchar as disclosure_rules_version
from allocation as a
left join indicators as i on a.need_indicator_id = i.indicator_id
left join need_cells as n
    on
        a.ward_code = n.ward_code
        and a.need_indicator_id = n.indicator_id
        and a.need_period = n.period
