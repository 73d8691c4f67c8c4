with

source as (

    select * from {{ source('raw', 'ons_lsoa11_lsoa21_lookup') }}

),

renamed as (

    select
        ---------- ids
        trim(lsoa11_code)::varchar as lsoa11_code,
        trim(lsoa21_code)::varchar as lsoa21_code,
        trim(lad_code)::varchar as lad_code,

        ---------- text
        trim(lsoa11_name)::varchar as lsoa11_name,
        trim(lsoa21_name)::varchar as lsoa21_name,
        trim(lad_name)::varchar as lad_name,
        trim(change_indicator)::varchar as change_indicator

    from source

)

select * from renamed
