-- The one table a partnership board reads: per Marmot principle and year, how many indicator
-- series the place has, how many are better, similar or worse than England, improving or
-- worsening, and whether inequality within the place is narrowing or widening.
--
-- A series is an indicator for one sex (and age); within a year each series counts once, at
-- its latest period starting that year (period_year is the first year of the period, so a
-- three-year period 2017 - 19 counts in 2017). Only whole periods count: a partial one
-- (is_partial, e.g. the first months of a year) is provisional and would be judged against
-- whole years.
--
-- One outcome counts once a year. Two kinds of series repeat another and are left out (and
-- counted in series_not_counted), since the board would otherwise read one outcome as two or
-- three (life expectancy at birth for males: Fingertips', ours over three years and ours
-- over five, all starting in 2019):
-- * a published (Fingertips) series, in a year when a series computed here to the same
--   definition (its catalogue comparable_fingertips_id) has a value for the same sex and age:
--   the computed one is kept, as it continues past Fingertips' last period with the same
--   method and has its inequality measured across the place's own deciles and quintiles;
-- * a five-year pooled series (pooled so long for wards and quintiles) in a year when the
--   three-year pool of the same outcome (same principle, source, method, sex and age)
--   counts: the three-year one is the headline, as Fingertips pools it.
--
-- Inequality of a series: its gap trend across local deprivation quintiles where it has
-- them, else across national IMD deciles (life expectancy over three pooled years has only
-- deciles, and its SII there is life_expectancy_sii_local's), from whole periods only.
-- Counts add up: better + similar + worse + other_comparison = series, and likewise for
-- travel and for inequality.
--
-- Beside the principles' lines (scorecard_line 'indicators'), one 'system' line a year
-- (principle_id null) for the Marmot approach itself (mart_system_measures): its one series
-- is the share of the contracts let that year reviewed through a health inequalities lens,
-- improving or worsening as an indicator is, when the previous year's share lies outside
-- this year's Wilson 95% interval. It has no England comparison nor inequality (other_comparison,
-- inequality_not_assessed).

with

place as (

    select area_code from {{ ref('dim_area') }}
    where is_place

),

place_values as (

    select
        f.*,
        i.principle_id,
        i.source as catalogue_source,
        i.method,
        i.fingertips_id,
        i.comparable_fingertips_id,
        i.period_kind as catalogue_period_kind,
        f.period_sortable // 10000 as period_year
    from {{ ref('fct_indicator_values') }} as f
    inner join place using (area_code)
    inner join {{ ref('dim_indicator') }} as i using (indicator_id)
    where f.category_type is null and f.value is not null and f.is_partial is not true
    qualify row_number() over (
        partition by f.indicator_id, f.sex, f.age, period_year order by f.period_sortable desc
    ) = 1

),

repeats as (

    select
        pv.indicator_id, pv.sex, pv.age, pv.period_year,
        exists (
            select 1 from place_values as computed
            where
                computed.comparable_fingertips_id = pv.fingertips_id
                and computed.sex = pv.sex
                and computed.age = pv.age
                and computed.period_year = pv.period_year
        )
        or (
            pv.catalogue_period_kind = 'five_calendar_years'
            and exists (
                select 1 from place_values as three
                where
                    three.catalogue_period_kind = 'three_calendar_years'
                    and three.principle_id = pv.principle_id
                    and three.catalogue_source = pv.catalogue_source
                    and three.method = pv.method
                    and three.sex = pv.sex
                    and three.age = pv.age
                    and three.period_year = pv.period_year
            )
        ) as is_repeat
    from place_values as pv

),

inequality as (

    select indicator_id, sex, age, period_sortable // 10000 as period_year, gap_trend
    from {{ ref('mart_inequality') }}
    where is_partial is not true
    qualify row_number() over (
        partition by indicator_id, sex, age, period_year
        order by quantile_scheme = 'Local deprivation quintile' desc, period_sortable desc
    ) = 1

),

series as (

    select place_values.*, repeats.is_repeat, inequality.gap_trend
    from place_values
    inner join repeats using (indicator_id, sex, age, period_year)
    left join inequality using (indicator_id, sex, age, period_year)

),

counted as (

    select * from series
    where not is_repeat

),

left_out as (

    select principle_id, period_year, count(*) as series_not_counted
    from series
    where is_repeat
    group by all

),

indicator_lines as (

    select
        'indicators' as scorecard_line,
        counted.principle_id::integer as principle_id,
        p.principle_name::varchar as principle_name,
        counted.period_year::integer as period_year,
        count(distinct counted.indicator_id)::integer as indicators,
        count(*)::integer as series,
        count(*) filter (where counted.compared_to_england = 'better')::integer
            as better_than_england,
        count(*) filter (where counted.compared_to_england = 'similar')::integer
            as similar_to_england,
        count(*) filter (where counted.compared_to_england = 'worse')::integer
            as worse_than_england,
        count(*) filter (
            where counted.compared_to_england not in ('better', 'similar', 'worse')
        )::integer as other_comparison,
        count(*) filter (where counted.direction_of_travel = 'improving')::integer as improving,
        count(*) filter (where counted.direction_of_travel = 'worsening')::integer as worsening,
        count(*) filter (
            where counted.direction_of_travel not in ('improving', 'worsening')
        )::integer as no_change_or_not_compared,
        count(*) filter (where counted.gap_trend = 'narrowed')::integer as inequality_narrowing,
        count(*) filter (where counted.gap_trend = 'widened')::integer as inequality_widening,
        count(*) filter (where counted.gap_trend = 'held')::integer as inequality_held,
        count(*) filter (
            where counted.gap_trend is null or counted.gap_trend = 'not compared'
        )::integer as inequality_not_assessed,
        coalesce(any_value(left_out.series_not_counted), 0)::integer as series_not_counted
    from counted
    inner join {{ ref('dim_principle') }} as p using (principle_id)
    left join left_out using (principle_id, period_year)
    group by all

),

system_years as (

    select
        period_year,
        reviewed_share,
        reviewed_share_lower_95,
        reviewed_share_upper_95,
        lag(reviewed_share) over (order by period_year) as previous_share
    from {{ ref('mart_system_measures') }}
    where principle_id is null and contracts_let > 0

),

system_lines as (

    select
        period_year,
        {{ direction_of_travel(
            'reviewed_share_lower_95', 'reviewed_share_upper_95', 'previous_share',
            "'higher_is_better'"
        ) }} as direction_of_travel
    from system_years

)

select
    scorecard_line::varchar as scorecard_line,
    principle_id,
    principle_name,
    period_year,
    indicators,
    series,
    better_than_england,
    similar_to_england,
    worse_than_england,
    other_comparison,
    improving,
    worsening,
    no_change_or_not_compared,
    inequality_narrowing,
    inequality_widening,
    inequality_held,
    inequality_not_assessed,
    series_not_counted
from indicator_lines

union all

select
    'system'::varchar as scorecard_line,
    null::integer as principle_id,
    'The Marmot approach: contracts reviewed through a health inequalities lens'::varchar
        as principle_name,
    period_year::integer as period_year,
    1::integer as indicators,
    1::integer as series,
    0::integer as better_than_england,
    0::integer as similar_to_england,
    0::integer as worse_than_england,
    1::integer as other_comparison,
    (direction_of_travel = 'improving')::integer as improving,
    (direction_of_travel = 'worsening')::integer as worsening,
    (direction_of_travel not in ('improving', 'worsening'))::integer
        as no_change_or_not_compared,
    0::integer as inequality_narrowing,
    0::integer as inequality_widening,
    0::integer as inequality_held,
    1::integer as inequality_not_assessed,
    0::integer as series_not_counted
from system_lines
