-- Indicator values in long form: one row per indicator, area, period, sex, age and category.
-- Today only OHID Fingertips; values computed from partner data will be unioned in with
-- their own `source`.

with

fingertips as (

    select * from {{ ref('int_indicator_values') }}

)

select
    indicator_id::varchar as indicator_id,
    area_code::varchar as area_code,
    area_type::varchar as area_type,
    period::varchar as period,
    period_sortable::bigint as period_sortable,
    sex::varchar as sex,
    age::varchar as age,
    category_type::varchar as category_type,
    category::varchar as category,
    numerator::double as numerator,
    denominator::double as denominator,
    value::double as value,
    lower_ci_95::double as lower_ci_95,
    upper_ci_95::double as upper_ci_95,
    lower_ci_99_8::double as lower_ci_99_8,
    upper_ci_99_8::double as upper_ci_99_8,
    compared_to_england::varchar as compared_to_england,
    value_note::varchar as value_note,
    'OHID Fingertips'::varchar as source

from fingertips
