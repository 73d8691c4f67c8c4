-- Residents of each LSOA of the place (and its ward) by mid-year and sex, in the age bands the
-- indicators' denominators use, from the ONS small-area estimates by single year of age.
-- Sex 'Persons' is males and females together. Age 90 stands for everyone aged 90 and over.

with

estimates as (

    select * from {{ ref('stg_ons__population_estimates') }}

),

lookup as (

    select lsoa_code, ward_code from {{ ref('stg_ons__lsoa_ward_lookup') }}

),

by_sex as (

    -- an inner join keeps the place's LSOAs only (a Nomis query by the place returns no
    -- others; a mirror or a national file might)
    select
        estimates.lsoa_code,
        lookup.ward_code,
        estimates.population_year,
        coalesce(estimates.sex, 'Persons') as sex,
        sum(estimates.population) as population_total,
        sum(estimates.population) filter (where estimates.age <= 4) as population_aged_0_4,
        sum(estimates.population) filter (where estimates.age <= 15) as population_aged_0_15,
        sum(estimates.population) filter (
            where estimates.age between 16 and 17
        ) as population_aged_16_17,
        sum(estimates.population) filter (
            where estimates.age between 16 and 64
        ) as population_aged_16_64,
        sum(estimates.population) filter (where estimates.age >= 65) as population_aged_65_plus
    from estimates
    inner join lookup on estimates.lsoa_code = lookup.lsoa_code
    group by
        estimates.lsoa_code, lookup.ward_code, estimates.population_year, rollup(estimates.sex)

)

select
    lsoa_code,
    ward_code,
    population_year,
    sex,
    population_total::integer as population_total,
    coalesce(population_aged_0_4, 0)::integer as population_aged_0_4,
    coalesce(population_aged_0_15, 0)::integer as population_aged_0_15,
    coalesce(population_aged_16_17, 0)::integer as population_aged_16_17,
    coalesce(population_aged_16_64, 0)::integer as population_aged_16_64,
    coalesce(population_aged_65_plus, 0)::integer as population_aged_65_plus
from by_sex
