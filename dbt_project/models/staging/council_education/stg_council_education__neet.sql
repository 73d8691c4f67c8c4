-- One row per ward and month: when a month is delivered again (a revision), the latest
-- delivery wins.
with source as (
    select * from {{ source('raw_council_education', 'council_education__neet') }}
),

latest as (
    {{ latest_delivery('source', ['ward_code', 'month']) }}
)

select
    ward_code,
    ward_name,
    month,
    cast(month || '-01' as date) as month_start,
    cast(cohort as integer) as cohort,
    cast(neet as integer) as neet,
    cast(not_known as integer) as not_known,
    cast(neet + not_known as integer) as neet_or_not_known,
    _sha256 as delivery_sha256,
    _received_at as received_at
from latest
