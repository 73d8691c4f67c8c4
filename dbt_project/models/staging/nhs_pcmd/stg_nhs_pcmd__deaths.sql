-- One row per death registered: when a year's extract is sent again (late registrations,
-- causes corrected after an inquest), the latest delivery of each death wins.
with source as (
    select * from {{ source('raw_nhs_pcmd', 'nhs_pcmd__deaths') }}
),

latest as (
    {{ latest_delivery('source', ['death_key']) }}
)

select
    death_key,
    date_of_death::date as date_of_death,
    year(date_of_death)::integer as year_of_death,
    -- the registration's sex code, as the labels the population estimates use
    case sex when '1' then 'Male' when '2' then 'Female' end::varchar as sex,
    age_at_death::integer as age_at_death,
    lsoa_code::varchar as lsoa_code,
    underlying_cause::varchar as underlying_cause,
    _sha256 as delivery_sha256,
    _received_at as received_at
from latest
