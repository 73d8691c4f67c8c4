-- Deaths under 75 from causes considered preventable (seed preventable_mortality_causes:
-- each death counts its cause's preventable share) and residents under 75 summed over the
-- pooled years, by the 15 five-year bands of the European Standard Population 2013 under 75
-- (0-4 ... 70-74), sex, for the place and its national IMD deciles over three pooled years
-- (the pools of int_life_expectancy_inputs). The input of int_preventable_mortality_local.

with

pools as (

    select distinct period, period_sortable, left(period, 4)::integer as first_year
    from {{ ref('int_life_expectancy_inputs') }}
    where pool_years = 3

),

causes as (

    select * from {{ ref('preventable_mortality_causes') }}

),

lsoas as (

    select lsoa_code, place_code, imd_decile from {{ ref('int_lsoa_deprivation') }}

),

deaths as (

    -- a cause is matched on its three-character category (I219 -> I21)
    select
        deaths.year_of_death as calendar_year,
        deaths.sex,
        deaths.lsoa_code,
        (deaths.age_at_death // 5) * 5 as start_age,
        sum(causes.preventable_share) as deaths
    from {{ ref('stg_nhs_pcmd__deaths') }} as deaths
    inner join causes
        on left(deaths.underlying_cause, 3) between causes.icd10_from and causes.icd10_to
    where deaths.age_at_death < 75
    group by all

),

residents as (

    select
        population_year as calendar_year,
        sex,
        lsoa_code,
        (age // 5) * 5 as start_age,
        sum(population) as population
    from {{ ref('stg_ons__population_estimates') }}
    where age < 75
    group by all

),

counts as (

    select
        residents.calendar_year,
        residents.sex,
        residents.start_age,
        residents.population,
        lsoas.place_code,
        lsoas.imd_decile,
        coalesce(deaths.deaths, 0) as deaths
    from residents
    inner join lsoas on residents.lsoa_code = lsoas.lsoa_code
    left join deaths
        on
            residents.calendar_year = deaths.calendar_year
            and residents.sex = deaths.sex
            and residents.lsoa_code = deaths.lsoa_code
            and residents.start_age = deaths.start_age

),

pooled as (

    select
        pools.period,
        pools.period_sortable,
        counts.*
    from counts
    inner join pools
        on counts.calendar_year between pools.first_year and pools.first_year + 2

),

areas as (

    select
        place_code as area_code, null::varchar as category_type, null::varchar as category,
        period, period_sortable, sex, start_age, deaths, population
    from pooled

    union all

    select
        place_code as area_code, 'National IMD decile' as category_type,
        imd_decile::varchar as category,
        period, period_sortable, sex, start_age, deaths, population
    from pooled
    where imd_decile is not null

)

select
    area_code,
    'local_authority' as area_type,
    category_type,
    category,
    period,
    period_sortable,
    sex,
    start_age::integer as start_age,
    sum(deaths)::double as deaths,
    sum(population)::bigint as population
from areas
group by all
