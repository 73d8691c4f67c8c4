with

source as (

    select * from {{ source('raw', 'place_areas') }}

),

renamed as (

    select
        ---------- ids
        trim(area_code)::varchar as area_code,

        ---------- text
        trim(area_name)::varchar as area_name,
        lower(trim(area_type))::varchar as area_type,

        ---------- booleans
        -- a missing flag means "not the place": only one row is the place
        coalesce(is_place, false)::boolean as is_place

    from source

)

select * from renamed
