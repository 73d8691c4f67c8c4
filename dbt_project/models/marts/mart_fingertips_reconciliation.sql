-- Our own place-level values against the values Fingertips publishes for the same definition
-- (the catalogue's comparable_fingertips_id): one row per local indicator, period, sex and age
-- where both exist for the same days. Both count the same people over the same period, so our
-- value should lie within Fingertips' 99.8% interval; one outside it is a sign of a wrong
-- numerator or denominator (the data test on within_fingertips_99_8 fails the build).
-- Internal: not published.

with

facts as (

    select * from {{ ref('fct_indicator_values') }}

),

catalogue as (

    select indicator_id, fingertips_id, comparable_fingertips_id
    from {{ ref('stg_reference__indicator_catalogue') }}

),

place as (

    select area_code from {{ ref('stg_place__areas') }}
    where is_place

),

pairs as (

    select
        own.indicator_id,
        comparable.indicator_id as fingertips_indicator_id,
        comparable.fingertips_id
    from catalogue as own
    inner join catalogue as comparable
        on own.comparable_fingertips_id = comparable.fingertips_id

),

ours as (

    select facts.*
    from facts
    inner join place on facts.area_code = place.area_code
    where
        facts.category_type is null
        and facts.source <> 'OHID Fingertips'
        and not facts.is_partial
        and facts.value is not null

),

published as (

    select facts.*
    from facts
    inner join place on facts.area_code = place.area_code
    where
        facts.category_type is null
        and facts.source = 'OHID Fingertips'
        and facts.value is not null
        and facts.lower_ci_99_8 is not null
        and facts.upper_ci_99_8 is not null

)

select
    ours.indicator_id::varchar as indicator_id,
    pairs.fingertips_indicator_id::varchar as fingertips_indicator_id,
    pairs.fingertips_id::integer as fingertips_id,
    ours.area_code::varchar as area_code,
    ours.period::varchar as period,
    published.period::varchar as fingertips_period,
    ours.period_start::date as period_start,
    ours.period_end::date as period_end,
    ours.sex::varchar as sex,
    ours.age::varchar as age,
    ours.source::varchar as source,
    ours.numerator::double as numerator,
    ours.denominator::double as denominator,
    ours.value::double as value,
    ours.lower_ci_95::double as lower_ci_95,
    ours.upper_ci_95::double as upper_ci_95,
    published.numerator::double as fingertips_numerator,
    published.denominator::double as fingertips_denominator,
    published.value::double as fingertips_value,
    published.lower_ci_99_8::double as fingertips_lower_ci_99_8,
    published.upper_ci_99_8::double as fingertips_upper_ci_99_8,
    (ours.value - published.value)::double as difference,
    (ours.value between published.lower_ci_99_8 and published.upper_ci_99_8)::boolean
        as within_fingertips_99_8

from ours
inner join pairs on ours.indicator_id = pairs.indicator_id
inner join published
    on
        pairs.fingertips_indicator_id = published.indicator_id
        and ours.period_start = published.period_start
        and ours.period_end = published.period_end
        and ours.sex = published.sex
        and ours.age = published.age
