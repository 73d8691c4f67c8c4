-- The indicator catalogue. Everything downstream is long (one row per indicator value), so
-- adding an indicator is adding a catalogue row: no model names an indicator.
with

catalogue as (

    select * from {{ ref('stg_reference__indicator_catalogue') }}

)

select
    indicator_id,
    indicator_name,
    principle_id,
    polarity,
    unit,
    multiplier,
    method,
    source,
    geography_levels,
    fingertips_id,
    comparable_fingertips_id,
    sexes,
    age,
    period_kind

from catalogue
