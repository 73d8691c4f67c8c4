-- One row per LSOA, academic year and FSM status: when a year is delivered again (a
-- revision), the latest delivery wins.
with source as (
    select * from {{ source('raw_council_education', 'council_education__eyfs_results') }}
),

latest as (
    {{ latest_delivery('source', ['lsoa_code', 'academic_year', 'fsm_status']) }}
)

select
    lsoa_code,
    lsoa_name,
    academic_year,
    -- 2022/23 -> 2023: the calendar year the assessment was made in (summer term).
    cast(left(academic_year, 4) as integer) + 1 as assessment_year,
    fsm_status,
    cast(pupils_assessed as integer) as pupils_assessed,
    cast(pupils_reaching_gld as integer) as pupils_reaching_gld,
    _sha256 as delivery_sha256,
    _received_at as received_at
from latest
