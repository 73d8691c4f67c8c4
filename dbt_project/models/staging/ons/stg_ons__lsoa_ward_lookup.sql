with

source as (

    select * from {{ source('raw', 'ons_lsoa_ward_lookup') }}

),

renamed as (

    select
        ---------- ids
        trim(lsoa_code)::varchar as lsoa_code,
        trim(ward_code)::varchar as ward_code,
        trim(lad_code)::varchar as lad_code,

        ---------- text
        trim(lsoa_name)::varchar as lsoa_name,
        trim(ward_name)::varchar as ward_name,
        trim(lad_name)::varchar as lad_name,
        trim(geography_vintage)::varchar as geography_vintage

    from source

)

select * from renamed
