-- One row per child measured in an academic year: when a year's extract is sent again (a
-- corrected extract), the latest delivery wins.
with source as (
    select * from {{ source('raw_nhs_icb', 'nhs_icb__child_measurements') }}
),

latest as (
    {{ latest_delivery('source', ['child_key', 'academic_year']) }}
),

lookup as (
    select lsoa_code, ward_code from {{ ref('stg_ons__lsoa_ward_lookup') }}
)

select
    latest.child_key,
    latest.academic_year,
    latest.school_year,
    latest.sex,
    latest.lsoa_code,
    lookup.ward_code,
    latest.bmi_centile_category,
    -- The NCMP's headline measures: overweight (including obesity), and obesity alone.
    latest.bmi_centile_category in ('Overweight', 'Living with obesity') as overweight_or_obese,
    latest.bmi_centile_category = 'Living with obesity' as living_with_obesity,
    latest._sha256 as delivery_sha256,
    latest._received_at as received_at
from latest
left join lookup on latest.lsoa_code = lookup.lsoa_code
