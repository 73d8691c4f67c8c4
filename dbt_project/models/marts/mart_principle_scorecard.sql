-- The one table a partnership board reads: per Marmot principle and year, how many indicator
-- series the place has, how many are better, similar or worse than England, improving or
-- worsening, and whether inequality within the place is narrowing or widening.
--
-- A series is an indicator for one sex; within a year each series counts once, at its latest
-- period starting that year (period_year is the first year of the period, so a three-year
-- period 2017 - 19 counts in 2017). Only whole periods count: a partial one (is_partial, e.g.
-- the first months of a year) is provisional and would be judged against whole years.
-- Counts add up: better + similar + worse + other_comparison = series, and likewise for
-- travel and for inequality.

with

place as (

    select area_code from {{ ref('dim_area') }}
    where is_place

),

place_values as (

    select f.*, i.principle_id, f.period_sortable // 10000 as period_year
    from {{ ref('fct_indicator_values') }} as f
    inner join place using (area_code)
    inner join {{ ref('dim_indicator') }} as i using (indicator_id)
    where f.category_type is null and f.value is not null and f.is_partial is not true
    qualify row_number() over (
        partition by f.indicator_id, f.sex, f.age, period_year order by f.period_sortable desc
    ) = 1

),

inequality as (

    select indicator_id, sex, age, period_sortable // 10000 as period_year, gap_trend
    from {{ ref('mart_inequality') }}
    where quantile_scheme = 'Local deprivation quintile'
    qualify row_number() over (
        partition by indicator_id, sex, age, period_year order by period_sortable desc
    ) = 1

),

series as (

    select place_values.*, inequality.gap_trend
    from place_values
    left join inequality using (indicator_id, sex, age, period_year)

)

select
    series.principle_id::integer as principle_id,
    p.principle_name::varchar as principle_name,
    series.period_year::integer as period_year,
    count(distinct series.indicator_id)::integer as indicators,
    count(*)::integer as series,
    count(*) filter (where series.compared_to_england = 'better')::integer
        as better_than_england,
    count(*) filter (where series.compared_to_england = 'similar')::integer
        as similar_to_england,
    count(*) filter (where series.compared_to_england = 'worse')::integer
        as worse_than_england,
    count(*) filter (
        where series.compared_to_england not in ('better', 'similar', 'worse')
    )::integer as other_comparison,
    count(*) filter (where series.direction_of_travel = 'improving')::integer as improving,
    count(*) filter (where series.direction_of_travel = 'worsening')::integer as worsening,
    count(*) filter (
        where series.direction_of_travel not in ('improving', 'worsening')
    )::integer as no_change_or_not_compared,
    count(*) filter (where series.gap_trend = 'narrowed')::integer as inequality_narrowing,
    count(*) filter (where series.gap_trend = 'widened')::integer as inequality_widening,
    count(*) filter (where series.gap_trend = 'held')::integer as inequality_held,
    count(*) filter (
        where series.gap_trend is null or series.gap_trend = 'not compared'
    )::integer as inequality_not_assessed
from series
inner join {{ ref('dim_principle') }} as p using (principle_id)
group by all
