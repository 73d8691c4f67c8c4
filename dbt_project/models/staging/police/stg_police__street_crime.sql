-- One row per incident located in the place. data.police.uk republishes months with updated
-- outcomes, and anti-social behaviour rows have no Crime ID to match them by, so for each
-- month the rows of the latest file that covered that month replace all earlier ones.
with source as (
    select * from {{ source('raw_police', 'police__street_crime') }}
),

latest as (
    select *
    from source
    qualify _received_at = max(_received_at) over (partition by month)
)

select
    crime_id,
    month,
    reported_by,
    falls_within,
    cast(longitude as double) as longitude,
    cast(latitude as double) as latitude,
    location,
    lsoa_code,
    lsoa_name,
    crime_type,
    crime_type = 'Anti-social behaviour' as is_anti_social_behaviour,
    last_outcome_category,
    _sha256 as delivery_sha256,
    _row_number as source_row_number,
    _received_at as received_at
from latest
-- Incidents with no location carry no LSOA: the force's file holds them for its whole area,
-- so they cannot be counted for the place. The free-text Context column is left in raw.
where lsoa_code is not null
