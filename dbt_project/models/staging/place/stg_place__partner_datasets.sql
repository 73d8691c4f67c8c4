with

source as (

    select * from {{ source('raw', 'partner_datasets') }}

),

renamed as (

    select
        ---------- ids
        (partner || '__' || dataset)::varchar as dataset_table,
        partner::varchar as partner,
        dataset::varchar as dataset,

        ---------- text
        title::varchar as title,
        publication_cadence::varchar as publication_cadence,

        ---------- booleans
        coalesce(record_level, false)::boolean as is_record_level,
        -- a missing flag means "not public": nothing is named by default
        coalesce(public_register, false)::boolean as is_public_register

    from source

)

select * from renamed
