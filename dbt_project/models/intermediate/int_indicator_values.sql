-- Fingertips rows for catalogue indicators, labelled with the catalogue's indicator_id.
-- Only the sexes the catalogue lists for an indicator are kept (e.g. life expectancy is
-- reported by Male and Female; Fingertips may also publish Persons rows we do not use).

with

fingertips as (

    select * from {{ ref('stg_fingertips__indicator_values') }}

),

catalogue as (

    select * from {{ ref('stg_reference__indicator_catalogue') }}

),

joined as (

    select
        catalogue.indicator_id,
        fingertips.*

    from fingertips
    inner join catalogue
        on fingertips.fingertips_id = catalogue.fingertips_id
    -- `sexes` is pipe-separated, e.g. `Male|Female`
    where list_contains(string_split(catalogue.sexes, '|'), fingertips.sex)

),

deduplicated as (

    -- Each Fingertips download repeats the England (and parent) rows, so the same published
    -- row can reach the raw table more than once, differing only in parent fields. Keep one
    -- copy per key AND published numbers: two rows with the same key but different values
    -- are a real conflict, left for the unique_combination test on fct_indicator_values.
    select *
    from joined
    qualify row_number() over (
        partition by
            indicator_id, area_code, period, sex, age, category_type, category,
            value, lower_ci_95, upper_ci_95, lower_ci_99_8, upper_ci_99_8,
            numerator, denominator
        order by parent_code nulls last, area_type_published
    ) = 1

)

select
    indicator_id,
    fingertips_id,
    area_code,
    parent_code,
    indicator_name,
    area_name,
    parent_name,
    area_type,
    area_type_published,
    sex,
    age,
    category_type,
    category,
    value_note,
    recent_trend,
    new_data,
    compared_to_goal,
    compared_to_england,
    compared_to_parent,
    period,
    period_sortable,
    period_range,
    value,
    lower_ci_95,
    upper_ci_95,
    lower_ci_99_8,
    upper_ci_99_8,
    numerator,
    denominator
from deduplicated
