-- One row per client episode (pseudonymised client and start date). Each quarterly export
-- repeats the open caseload, so the latest delivery carries the latest known outcome.
with source as (
    select * from {{ source('raw_council_job_shop', 'council_job_shop__clients') }}
),

latest as (
    {{ latest_delivery('source', ['client_key', 'start_date']) }}
),

lookup as (
    select lsoa_code, ward_code from {{ ref('stg_ons__lsoa_ward_lookup') }}
)

select
    latest.client_key,
    latest.lsoa_code,
    -- The ward of the LSOA where the address matched one, else the ward the client gave.
    coalesce(lookup.ward_code, latest.ward_code) as ward_code,
    case when latest.lsoa_code is not null then 'lsoa' else 'ward' end as area_source,
    latest.disability,
    latest.care_leaver,
    latest.ex_offender,
    latest.refugee,
    latest.lone_parent,
    cast(latest.disability as integer) + cast(latest.care_leaver as integer)
    + cast(latest.ex_offender as integer) + cast(latest.refugee as integer)
    + cast(latest.lone_parent as integer) as barrier_count,
    latest.start_date,
    latest.outcome,
    latest.outcome_date,
    latest.outcome = 'job' as into_work,
    latest._sha256 as delivery_sha256,
    latest._received_at as received_at
from latest
left join lookup on latest.lsoa_code = lookup.lsoa_code
-- The contract needs an LSOA or a ward on every row, but the door can only make a column
-- required on its own, so both are optional there and a row with neither is dropped here:
-- it cannot be placed in any area (it stays in raw for the partner to correct).
where latest.lsoa_code is not null or latest.ward_code is not null
