-- fct_indicator_values as it may leave the warehouse: disclosure control (macros/disclosure.sql,
-- var disclosure_rules) on every value computed here from partner data; publishers' values
-- (OHID Fingertips) as they published them.
--
-- Our cells (disclosure_applied: every row not from a publisher in
-- disclosure_rules.publisher_sources, i.e. the wards, LSOAs and deprivation quantiles and,
-- conservatively, the place's own totals, which siblings are subtracted from): 0 stays 0; a
-- numerator, denominator or complement (denominator - numerator, before or after rounding) of
-- 1-7 suppresses the cell; counts and denominators are published rounded to 5; a crude rate on
-- fewer than 3 events or a standardised rate on fewer than 10 is withheld. Values and limits
-- are computed (upstream) from the unrounded counts and withheld wherever the cell is
-- suppressed; so are compared_to_england, compared_to_region and compared_to_place, and
-- direction_of_travel when this or the previous period is suppressed. place_value (the place's
-- own value beside a ward, LSOA or deprivation quantile) and compared_to_place are withheld
-- too where the place's row itself is suppressed.
--
-- Secondary suppression: a group of sibling cells that add up to a published total, with
-- exactly one cell hidden, gets its smallest visible non-zero sibling hidden too, so no hidden
-- count is recovered by subtraction. The groups (each within one indicator, period, sex, age):
--   areas:        the wards (or LSOAs) of the place, for one category (or the headline);
--   lsoa_in_ward: the LSOAs of one ward, for one category (or the headline);
--   categories:   the categories of one breakdown (FSM status, a deprivation quantile
--                 scheme, ...) in one area, adding up to that area's headline row.
-- A cell hidden in one group can leave another group with one hidden cell, so the step is
-- repeated (three passes; tests/assert_publish_no_lone_suppressed_cell.sql checks the result).

{%- set groups = ['group_areas', 'group_lsoa_in_ward', 'group_categories'] %}

with

facts as (

    select * from {{ ref('fct_indicator_values') }}

),

indicators as (

    select indicator_id, method, period_kind from {{ ref('dim_indicator') }}

),

areas as (

    select area_code, parent_area_code from {{ ref('dim_area') }}

),

classified as (

    select
        facts.* exclude (facts.is_suppressed, facts.period_kind),
        indicators.method,
        indicators.period_kind,
        areas.parent_area_code,
        facts.source not in (
            '{{ disclosure_rules().publisher_sources | join("', '") }}'
        ) as disclosure_applied
    from facts
    inner join indicators on facts.indicator_id = indicators.indicator_id
    left join areas on facts.area_code = areas.area_code

),

pass_0 as (

    select
        *,
        case
            when not disclosure_applied
                then case when value is null then 'publisher' end
            else {{ disclosure_primary_reason('numerator', 'denominator', 'method') }}
        end as suppression_reason,
        case
            when disclosure_applied and area_type in ('ward', 'lsoa')
                then concat_ws(
                    '|', indicator_id, period, sex, age, area_type,
                    coalesce(category_type, ''), coalesce(category, '')
                )
        end as group_areas,
        case
            when disclosure_applied and area_type = 'lsoa'
                then concat_ws(
                    '|', indicator_id, period, sex, age, parent_area_code,
                    coalesce(category_type, ''), coalesce(category, '')
                )
        end as group_lsoa_in_ward,
        case
            when disclosure_applied and category_type is not null
                then concat_ws('|', indicator_id, period, sex, age, area_code, category_type)
        end as group_categories
    from classified

),

pass_1 as (

    {{ disclosure_secondary_pass('pass_0', groups, 'area_code, category') }}

),

pass_2 as (

    {{ disclosure_secondary_pass('pass_1', groups, 'area_code, category') }}

),

pass_3 as (

    {{ disclosure_secondary_pass('pass_2', groups, 'area_code, category') }}

),

decided as (

    select
        *,
        suppression_reason is not null as is_suppressed,
        disclosure_applied
        and suppression_reason in {{ disclosure_hiding_reasons() }} as count_hidden
    from pass_3

),

with_previous as (

    select
        *,
        -- the period direction_of_travel compared with: the previous whole one (a partial
        -- period is compared with none; marts.fct_indicator_values)
        lag(is_suppressed) over (
            partition by
                indicator_id, area_code, sex, age, category_type, category, source, is_partial
            order by period_sortable, period
        ) as previous_is_suppressed
    from decided

),

place_hidden as (

    -- the place's own rows (the comparator of its wards, LSOAs and deprivation quantiles)
    -- that disclosure control hides
    select indicator_id, period, sex, age, source, true as place_is_suppressed
    from decided
    where
        disclosure_applied and is_suppressed
        and area_type = 'local_authority' and category_type is null

),

with_place as (

    select
        with_previous.*,
        coalesce(place_hidden.place_is_suppressed, false) as place_is_suppressed
    from with_previous
    left join place_hidden
        on
            with_previous.indicator_id = place_hidden.indicator_id
            and with_previous.period = place_hidden.period
            and with_previous.sex = place_hidden.sex
            and with_previous.age = place_hidden.age
            and with_previous.source = place_hidden.source

)

select
    value_key::varchar as value_key,
    indicator_id::varchar as indicator_id,
    area_code::varchar as area_code,
    area_type::varchar as area_type,
    parent_area_code::varchar as parent_area_code,
    period::varchar as period,
    {{ period_start('period', 'period_kind') }}::date as period_start,
    {{ period_end('period', 'period_kind') }}::date as period_end,
    period_kind::varchar as period_kind,
    is_partial::boolean as is_partial,
    coverage_months::integer as coverage_months,
    coverage_note::varchar as coverage_note,
    period_sortable::bigint as period_sortable,
    sex::varchar as sex,
    age::varchar as age,
    category_type::varchar as category_type,
    category::varchar as category,
    case
        when not disclosure_applied then numerator
        when count_hidden then null
        else {{ disclosure_round('numerator') }}
    end::double as numerator,
    case
        when not disclosure_applied then denominator
        when suppression_reason in ('denominator', 'secondary') then null
        else {{ disclosure_round('denominator') }}
    end::double as denominator,
    case when disclosure_applied and is_suppressed then null else value end::double as value,
    case
        when disclosure_applied and is_suppressed then null else lower_ci_95
    end::double as lower_ci_95,
    case
        when disclosure_applied and is_suppressed then null else upper_ci_95
    end::double as upper_ci_95,
    case
        when disclosure_applied and is_suppressed then null else lower_ci_99_8
    end::double as lower_ci_99_8,
    case
        when disclosure_applied and is_suppressed then null else upper_ci_99_8
    end::double as upper_ci_99_8,
    england_value::double as england_value,
    region_value::double as region_value,
    case
        when place_is_suppressed then null else place_value
    end::double as place_value,
    case
        when disclosure_applied and is_suppressed then null else compared_to_england
    end::varchar as compared_to_england,
    case
        when disclosure_applied and is_suppressed then null else compared_to_region
    end::varchar as compared_to_region,
    case
        when
            (disclosure_applied and is_suppressed) or place_is_suppressed
            then null
        else compared_to_place
    end::varchar as compared_to_place,
    previous_period::varchar as previous_period,
    case
        when disclosure_applied and (is_suppressed or coalesce(previous_is_suppressed, false))
            then null
        else direction_of_travel
    end::varchar as direction_of_travel,
    is_suppressed::boolean as is_suppressed,
    suppression_reason::varchar as suppression_reason,
    disclosure_applied::boolean as disclosure_applied,
    {{ disclosure_rules_version() }}::varchar as disclosure_rules_version,
    value_note::varchar as value_note,
    source::varchar as source
from with_place
