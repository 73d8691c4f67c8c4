with

source as (

    select * from {{ source('raw', 'ons_population_estimates') }}

),

renamed as (

    select
        ---------- ids
        trim(lsoa_code)::varchar as lsoa_code,

        ---------- dimensions
        mid_year::integer as population_year,
        trim(sex)::varchar as sex,
        age::integer as age,

        ---------- numerics
        population::integer as population

    from source

)

select * from renamed
