-- The Marmot principles seed (brief, section 2); principle 0 is the cross-cutting outcomes.
with

source as (

    select * from {{ ref('principles') }}

),

renamed as (

    select
        principle_id::integer as principle_id,
        trim(principle_name)::varchar as principle_name,
        since_year::integer as since_year

    from source

)

select * from renamed
