-- The indicator catalogue seed (types pinned in dbt_project.yml). One row per indicator;
-- adding an indicator to the warehouse is adding a row here.
with

source as (

    select * from {{ ref('indicator_catalogue') }}

),

renamed as (

    select
        ---------- ids
        trim(indicator_id)::varchar as indicator_id,
        principle_id::integer as principle_id,
        fingertips_id::integer as fingertips_id,
        -- a local indicator's Fingertips counterpart of the same definition (or NULL)
        comparable_fingertips_id::integer as comparable_fingertips_id,

        ---------- text
        trim(indicator_name)::varchar as indicator_name,
        trim(polarity)::varchar as polarity,
        trim(unit)::varchar as unit,
        trim(method)::varchar as method,
        trim(source)::varchar as source,
        -- pipe-separated lists, kept as text (e.g. `country|region|local_authority|ward`)
        trim(geography_levels)::varchar as geography_levels,
        trim(sexes)::varchar as sexes,
        trim(age)::varchar as age,
        trim(period_kind)::varchar as period_kind,

        ---------- numerics
        multiplier::double as multiplier

    from source

)

select * from renamed
