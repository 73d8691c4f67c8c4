-- Deaths (PCMD) and residents (ONS mid-year estimates, summed over the pooled years: the
-- person-years at risk) by the 20 age bands of the abridged life table (0, 1-4, 5-9 ... 85-89,
-- 90+), sex, area and pooled period, the input of int_life_expectancy_local. As OHID pools:
-- three calendar years for the place and its national IMD deciles, five for wards, local
-- deprivation quintiles (and the place's own five-year headline, which they add up to). A
-- pool is formed only where deaths and estimates cover every one of its years. Deaths whose
-- address matched no LSOA of the place are left out (they have no residents to divide by).

with

deaths as (

    select year_of_death as calendar_year, sex, age_at_death as age, lsoa_code
    from {{ ref('stg_nhs_pcmd__deaths') }}

),

residents as (

    select population_year as calendar_year, sex, age, lsoa_code, population
    from {{ ref('stg_ons__population_estimates') }}

),

lsoas as (

    select lsoa_code, ward_code, place_code, imd_decile, local_imd_quintile
    from {{ ref('int_lsoa_deprivation') }}

),

years as (

    -- the years both sources cover
    select distinct calendar_year from deaths
    intersect
    select distinct calendar_year from residents

),

pool_lengths as (

    select lengths.pool_years from (values (3), (5)) as lengths (pool_years)

),

pools as (

    -- every run of consecutive covered years of each length, named by its last year
    select
        pool_lengths.pool_years,
        last_years.calendar_year - pool_lengths.pool_years + 1 as first_year,
        last_years.calendar_year as last_year
    from years as last_years
    cross join pool_lengths
    inner join years as covered
        on
            covered.calendar_year
            between last_years.calendar_year - pool_lengths.pool_years + 1
            and last_years.calendar_year
    group by all
    having count(*) = pool_lengths.pool_years

),

died as (

    -- the open age group 90+ takes every death from 90
    select calendar_year, lsoa_code, sex, least(age, 90) as age, count(*) as deaths
    from deaths
    group by all

),

counts as (

    -- one row per year, LSOA, sex and single year of age: its deaths and residents
    select
        residents.calendar_year,
        residents.lsoa_code,
        residents.sex,
        residents.age,
        residents.population,
        coalesce(died.deaths, 0) as deaths
    from residents
    left join died
        on
            residents.calendar_year = died.calendar_year
            and residents.lsoa_code = died.lsoa_code
            and residents.sex = died.sex
            and residents.age = died.age

),

banded as (

    select
        counts.*,
        lsoas.ward_code,
        lsoas.place_code,
        lsoas.imd_decile,
        lsoas.local_imd_quintile,
        case
            when counts.age = 0 then 0
            when counts.age < 5 then 1
            when counts.age >= 90 then 90
            else (counts.age // 5) * 5
        end as start_age
    from counts
    inner join lsoas on counts.lsoa_code = lsoas.lsoa_code

),

pooled as (

    select
        pools.pool_years,
        pools.first_year,
        pools.last_year,
        banded.*
    from banded
    inner join pools on banded.calendar_year between pools.first_year and pools.last_year

),

areas as (

    select
        place_code as area_code, 'local_authority' as area_type,
        null::varchar as category_type, null::varchar as category,
        pool_years, first_year, last_year, sex, start_age, deaths, population
    from pooled

    union all

    select
        place_code as area_code, 'local_authority' as area_type,
        'National IMD decile' as category_type, imd_decile::varchar as category,
        pool_years, first_year, last_year, sex, start_age, deaths, population
    from pooled
    where pool_years = 3 and imd_decile is not null

    union all

    select
        ward_code as area_code, 'ward' as area_type,
        null::varchar as category_type, null::varchar as category,
        pool_years, first_year, last_year, sex, start_age, deaths, population
    from pooled
    where pool_years = 5 and ward_code is not null

    union all

    select
        place_code as area_code, 'local_authority' as area_type,
        'Local deprivation quintile' as category_type,
        local_imd_quintile::varchar as category,
        pool_years, first_year, last_year, sex, start_age, deaths, population
    from pooled
    where pool_years = 5 and local_imd_quintile is not null

)

select
    area_code,
    area_type,
    category_type,
    category,
    pool_years,
    -- labelled as Fingertips labels pooled years: "2020 - 22", sortable by its first year
    first_year::varchar || ' - ' || lpad((last_year % 100)::varchar, 2, '0') as period,
    (first_year * 10000)::bigint as period_sortable,
    sex,
    start_age::integer as start_age,
    sum(deaths)::bigint as deaths,
    sum(population)::bigint as population
from areas
group by all
