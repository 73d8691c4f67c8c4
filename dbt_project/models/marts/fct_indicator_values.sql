-- Indicator values in long form: one row per indicator, area, period, sex, age and category,
-- with the comparators' values, significance against England, the region and (for wards, LSOAs
-- and deprivation quantiles) the place, direction of travel since the previous period, and the
-- disclosure-control flag.
--
-- Published values (OHID Fingertips) are carried as published; values computed here from
-- partner data follow OHID's methods (macros/stats) and carry their partner as `source`.
-- A local indicator whose catalogue row names a Fingertips indicator of the same definition
-- (comparable_fingertips_id) takes England's and the region's values from that indicator's
-- rows covering the same days (period_start, period_end), sex and age.

{%- set quantile_schemes = "('" ~ var('deprivation_quantile_schemes') | join("', '") ~ "')" %}

with

all_values as (

    select * from {{ ref('int_all_indicator_values') }}

),

catalogue as (

    select indicator_id, polarity, period_kind, fingertips_id, comparable_fingertips_id
    from {{ ref('stg_reference__indicator_catalogue') }}

),

comparator_series as (

    -- the indicator whose England and region rows each indicator is compared with: the
    -- comparable Fingertips indicator where the catalogue names one, else the indicator itself
    select
        own.indicator_id,
        own.polarity,
        own.period_kind,
        coalesce(comparable.indicator_id, own.indicator_id) as comparator_indicator_id
    from catalogue as own
    left join catalogue as comparable
        on own.comparable_fingertips_id = comparable.fingertips_id

),

place as (

    select area_code from {{ ref('stg_place__areas') }}
    where is_place

),

region as (

    select area_code from {{ ref('stg_place__areas') }}
    where area_type = 'region'

),

published_vs_parent as (

    -- Fingertips' own judgement against the row's parent: the region for the place, the
    -- place for its wards
    select
        indicator_id, area_code, period, sex, age, category_type, category, parent_code,
        compared_to_parent
    from {{ ref('int_indicator_values') }}
    qualify row_number() over (
        partition by indicator_id, area_code, period, sex, age, category_type, category
        order by parent_code nulls last
    ) = 1

),

dated as (

    select
        v.*,
        series.polarity,
        series.period_kind,
        series.comparator_indicator_id,
        {{ period_start('v.period', 'series.period_kind') }} as period_start,
        {{ period_end('v.period', 'series.period_kind') }} as period_end
    from all_values as v
    inner join comparator_series as series using (indicator_id)

),

comparators as (

    -- England's and the region's headline value of each series, period (by its days), sex
    -- and age
    select
        indicator_id as comparator_indicator_id, period_start, period_end, sex, age,
        max(case when area_type = 'country' then value end) as england_value,
        max(case when area_type = 'region' then value end) as region_value
    from dated
    where category_type is null and area_type in ('country', 'region')
    group by all

),

place_values as (

    -- the place's headline value of each series, for its wards, LSOAs and deprivation quantiles
    select
        dated.indicator_id, dated.period, dated.sex, dated.age, dated.source,
        dated.value as place_value
    from dated
    inner join place on dated.area_code = place.area_code
    where dated.category_type is null

),

with_context as (

    select
        v.*,
        -- a partial period is compared with no whole one (a few months against a year)
        case when not coalesce(v.is_partial, false) then comparators.england_value end
            as england_value,
        case when not coalesce(v.is_partial, false) then comparators.region_value end
            as region_value,
        place_values.place_value,
        case
            when v.source = 'OHID Fingertips' and parent_region.area_code is not null
                then parent.compared_to_parent
        end as published_vs_region,
        case
            when v.source = 'OHID Fingertips' and parent_place.area_code is not null
                then parent.compared_to_parent
        end as published_vs_place,
        -- a partial period is compared with nothing, and whole periods only with whole ones
        -- (a few months against a year would read as a fall): the series runs per is_partial
        case when not coalesce(v.is_partial, false) then lag(v.value) over series end
            as previous_value,
        case when not coalesce(v.is_partial, false) then lag(v.period) over series end
            as previous_period

    from dated as v
    left join comparators
        on
            v.comparator_indicator_id = comparators.comparator_indicator_id
            and v.period_start = comparators.period_start
            and v.period_end = comparators.period_end
            and v.sex = comparators.sex
            and v.age = comparators.age
    -- wards, LSOAs (headline rows) and the place's deprivation quantiles, against the place
    left join place_values
        on
            v.indicator_id = place_values.indicator_id
            and v.period = place_values.period
            and v.sex = place_values.sex
            and v.age = place_values.age
            and v.source = place_values.source
            and (
                (v.area_type in ('ward', 'lsoa', 'msoa') and v.category_type is null)
                or v.category_type in {{ quantile_schemes }}
            )
    left join published_vs_parent as parent
        on
            v.indicator_id = parent.indicator_id
            and v.area_code = parent.area_code
            and v.period = parent.period
            and v.sex = parent.sex
            and v.age = parent.age
            and v.category_type is not distinct from parent.category_type
            and v.category is not distinct from parent.category
    left join region as parent_region on parent.parent_code = parent_region.area_code
    left join place as parent_place on parent.parent_code = parent_place.area_code
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
    place_value::double as place_value,
    -- Published significance where the publisher judged it; our own judgement (same method:
    -- the comparator's value against this row's 95% interval) for values computed here.
    case
        when compared_to_england is not null then compared_to_england
        when area_type = 'country' then 'not compared'
        else {{ compare_to_comparator('lower_ci_95', 'upper_ci_95', 'england_value', 'polarity') }}
    end::varchar as compared_to_england,
    case
        when area_type in ('country', 'region') then 'not compared'
        when published_vs_region is not null then published_vs_region
        else {{ compare_to_comparator('lower_ci_95', 'upper_ci_95', 'region_value', 'polarity') }}
    end::varchar as compared_to_region,
    coalesce(
        published_vs_place,
        {{ compare_to_comparator('lower_ci_95', 'upper_ci_95', 'place_value', 'polarity') }}
    )::varchar as compared_to_place,
    previous_period::varchar as previous_period,
    {{ direction_of_travel('lower_ci_95', 'upper_ci_95', 'previous_value', 'polarity') }}::varchar
        as direction_of_travel,
    {{
        disclosure_suppressed('numerator', 'area_type', 'category_type', 'value', 'value_note')
    }}::boolean as is_suppressed,
    value_note::varchar as value_note,
    source::varchar as source

from with_context
