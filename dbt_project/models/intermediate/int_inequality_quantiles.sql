-- The place's indicator values by deprivation quantile (quantile 1 = most deprived), the
-- input of the inequality measures: national IMD deciles of its LSOAs and local quintiles.
-- Published and computed values alike (so life expectancy computed from death registrations
-- comes in by its deciles and quintiles). A quantile of a partial period (the data cover the
-- period only in part) is marked, so the gap trend can leave it out.

with

place as (

    select area_code from {{ ref('stg_place__areas') }}
    where is_place

),

catalogue as (

    select indicator_id, principle_id, method, polarity, multiplier
    from {{ ref('stg_reference__indicator_catalogue') }}

)

select
    v.indicator_id,
    v.period,
    v.period_sortable,
    v.sex,
    v.age,
    v.category_type as quantile_scheme,
    cast(v.category as integer) as quantile,
    v.value,
    v.lower_ci_95,
    v.upper_ci_95,
    -- the quantile's population for the indicator: its denominator
    v.denominator as population,
    coalesce(v.is_partial, false) as is_partial,
    v.source,
    catalogue.principle_id,
    catalogue.method,
    catalogue.polarity,
    catalogue.multiplier

from {{ ref('int_all_indicator_values') }} as v
inner join place on v.area_code = place.area_code
inner join catalogue using (indicator_id)
where
    v.category_type in {{ "('" ~ var('deprivation_quantile_schemes') | join("', '") ~ "')" }}
    and v.value is not null
    and v.denominator > 0
