with

source as (

    select * from {{ source('raw', 'fingertips_indicator_values') }}

),

renamed as (

    select
        ---------- ids
        -- Fingertips' numeric id; the warehouse's own indicator_id comes from the catalogue
        indicator_id::integer as fingertips_id,
        trim(area_code)::varchar as area_code,
        nullif(trim(parent_code), '')::varchar as parent_code,

        ---------- text
        trim(indicator_name)::varchar as indicator_name,
        trim(area_name)::varchar as area_name,
        nullif(trim(parent_name), '')::varchar as parent_name,
        -- published wording varies by release (`England`, `Counties & UAs (from Apr 2023)`...)
        {{ fingertips_area_type('area_type') }}::varchar as area_type,
        trim(area_type)::varchar as area_type_published,
        trim(sex)::varchar as sex,
        trim(age)::varchar as age,
        -- blank means "no category" (the headline row): NULL, never mistaken for a category
        nullif(trim(category_type), '')::varchar as category_type,
        nullif(trim(category), '')::varchar as category,
        nullif(trim(value_note), '')::varchar as value_note,
        nullif(trim(recent_trend), '')::varchar as recent_trend,
        nullif(trim(new_data), '')::varchar as new_data,
        nullif(trim(compared_to_goal), '')::varchar as compared_to_goal,
        {{ fingertips_comparison('compared_to_england') }}::varchar as compared_to_england,
        {{ fingertips_comparison('compared_to_parent') }}::varchar as compared_to_parent,

        ---------- periods
        trim(time_period)::varchar as period,
        time_period_sortable::bigint as period_sortable,
        nullif(trim(time_period_range), '')::varchar as period_range,

        ---------- numerics, as published (never recomputed: brief, section 6)
        value::double as value,
        lower_ci_95::double as lower_ci_95,
        upper_ci_95::double as upper_ci_95,
        lower_ci_99_8::double as lower_ci_99_8,
        upper_ci_99_8::double as upper_ci_99_8,
        count::double as numerator,
        denominator::double as denominator

    from source

)

select * from renamed
