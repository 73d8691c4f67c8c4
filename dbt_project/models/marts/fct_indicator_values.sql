-- Indicator values in long form: one row per indicator, area, period, sex, age and category,
-- with the comparators' values, significance against England, direction of travel since the
-- previous period, and the disclosure-control flag.
--
-- Published values (OHID Fingertips) are carried as published; values computed here from
-- partner data follow OHID's methods (macros/stats) and carry their partner as `source`.

with

all_values as (

    select * from {{ ref('int_all_indicator_values') }}

),

catalogue as (

    select indicator_id, polarity, period_kind
    from {{ ref('stg_reference__indicator_catalogue') }}

),

comparators as (

    -- England's and the region's headline value for the same indicator, period, sex and age
    select
        indicator_id, period, sex, age,
        max(case when area_type = 'country' then value end) as england_value,
        max(case when area_type = 'region' then value end) as region_value
    from all_values
    where category_type is null and area_type in ('country', 'region')
    group by all

),

with_context as (

    select
        v.*,
        catalogue.polarity,
        catalogue.period_kind,
        {{ period_start('v.period', 'catalogue.period_kind') }} as period_start,
        {{ period_end('v.period', 'catalogue.period_kind') }} as period_end,
        comparators.england_value,
        comparators.region_value,
        -- a partial period is compared with nothing, and whole periods only with whole ones
        -- (a few months against a year would read as a fall): the series runs per is_partial
        case when not coalesce(v.is_partial, false) then lag(v.value) over series end
            as previous_value,
        case when not coalesce(v.is_partial, false) then lag(v.period) over series end
            as previous_period

    from all_values as v
    inner join catalogue using (indicator_id)
    left join comparators
        on
            v.indicator_id = comparators.indicator_id
            and v.period = comparators.period
            and v.sex = comparators.sex
            and v.age = comparators.age
    window series as (
        partition by
            v.indicator_id, v.area_code, v.sex, v.age, v.category_type, v.category,
            v.source, coalesce(v.is_partial, false)
        order by v.period_sortable, v.period
    )

)

select
    md5(concat_ws(
        '|', indicator_id, area_code, period, sex, age,
        coalesce(category_type, ''), coalesce(category, '')
    ))::varchar as value_key,
    indicator_id::varchar as indicator_id,
    area_code::varchar as area_code,
    area_type::varchar as area_type,
    period::varchar as period,
    period_kind::varchar as period_kind,
    period_start::date as period_start,
    period_end::date as period_end,
    -- A period the delivered data cover only in part (int_local_counts) is partial: shown as
    -- provisional, never taken as a latest value. Publishers' periods are whole.
    coalesce(is_partial, false)::boolean as is_partial,
    coalesce(
        coverage_months, date_diff('month', period_start, period_end + interval 1 day)
    )::integer as coverage_months,
    coverage_note::varchar as coverage_note,
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
    england_value::double as england_value,
    region_value::double as region_value,
    -- Published significance where the publisher judged it; our own judgement (same method:
    -- England's value against this row's 95% interval) for values computed here.
    case
        when compared_to_england is not null then compared_to_england
        when area_type = 'country' then 'not compared'
        else {{ compare_to_comparator('lower_ci_95', 'upper_ci_95', 'england_value', 'polarity') }}
    end::varchar as compared_to_england,
    previous_period::varchar as previous_period,
    {{ direction_of_travel('lower_ci_95', 'upper_ci_95', 'previous_value', 'polarity') }}::varchar
        as direction_of_travel,
    {{
        disclosure_suppressed('numerator', 'area_type', 'category_type', 'value', 'value_note')
    }}::boolean as is_suppressed,
    value_note::varchar as value_note,
    source::varchar as source

from with_context
