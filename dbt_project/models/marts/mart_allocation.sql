-- The allocation helper: a budget split per ward between a universal offer per resident and
-- a targeted offer in proportion to need-weighted population (var `allocation`, set with
-- dbt --vars; marmot_assets.methods.allocate is the same formula in Python):
--   universal = budget x universal_share x population / total population
--   targeted  = budget x (1 - universal_share) x population x need / sum(population x need)

{%- set a = var('allocation') %}

with

wards as (

    select ward_code, ward_name, population_total
    from {{ ref('int_ward_deprivation') }}

),

need as (

    select ward_code, value as need_value, period as need_period
    from {{ ref('int_ward_latest_values') }}
    where indicator_id = '{{ a.need_indicator_id }}'
    qualify row_number() over (partition by ward_code order by sex) = 1

),

weighted as (

    select
        wards.*,
        need.need_value,
        need.need_period,
        wards.population_total / sum(wards.population_total) over () as population_share,
        wards.population_total * coalesce(need.need_value, 0)
        / nullif(sum(wards.population_total * coalesce(need.need_value, 0)) over (), 0)
            as need_share
    from wards
    left join need using (ward_code)

)

select
    ward_code::varchar as ward_code,
    ward_name::varchar as ward_name,
    population_total::double as population,
    '{{ a.need_indicator_id }}'::varchar as need_indicator_id,
    need_period::varchar as need_period,
    need_value::double as need_value,
    {{ a.budget }}::double as budget,
    {{ a.universal_share }}::double as universal_share,
    ({{ a.budget }} * {{ a.universal_share }} * population_share)::double as universal_amount,
    (
        {{ a.budget }} * (1 - {{ a.universal_share }})
        * coalesce(need_share, population_share)
    )::double as targeted_amount,
    (
        {{ a.budget }} * {{ a.universal_share }} * population_share
        + {{ a.budget }} * (1 - {{ a.universal_share }})
        * coalesce(need_share, population_share)
    )::double as total_amount
from weighted
