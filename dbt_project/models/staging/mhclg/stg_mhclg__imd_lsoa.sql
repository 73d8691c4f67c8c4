with

source as (

    select * from {{ source('raw', 'mhclg_imd_lsoa') }}

),

renamed as (

    select
        ---------- ids
        trim(lsoa_code)::varchar as lsoa_code,
        trim(lad_code)::varchar as lad_code,

        ---------- text
        trim(lsoa_name)::varchar as lsoa_name,
        trim(lad_name)::varchar as lad_name,
        trim(release)::varchar as release,

        ---------- ranks (1 = most deprived in England) and national deciles (1 = most deprived 10%)
        imd_rank::integer as imd_rank,
        imd_decile::integer as imd_decile,
        income_rank::integer as income_rank,
        income_decile::integer as income_decile,
        employment_rank::integer as employment_rank,
        employment_decile::integer as employment_decile,
        education_rank::integer as education_rank,
        education_decile::integer as education_decile,
        health_rank::integer as health_rank,
        health_decile::integer as health_decile,
        crime_rank::integer as crime_rank,
        crime_decile::integer as crime_decile,
        barriers_rank::integer as barriers_rank,
        barriers_decile::integer as barriers_decile,
        living_environment_rank::integer as living_environment_rank,
        living_environment_decile::integer as living_environment_decile,

        ---------- population denominators
        population_total::integer as population_total,
        population_aged_0_15::integer as population_aged_0_15,
        population_aged_16_59::integer as population_aged_16_59,
        population_aged_60_plus::integer as population_aged_60_plus,
        population_working_age::integer as population_working_age

    from source

)

select * from renamed
