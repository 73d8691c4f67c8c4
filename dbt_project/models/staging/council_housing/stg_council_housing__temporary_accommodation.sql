-- One row per ward and quarter: when a quarter is delivered again (a revision), the latest
-- delivery wins.
with source as (
    select * from {{ source('raw_council_housing', 'council_housing__temporary_accommodation') }}
),

latest as (
    {{ latest_delivery('source', ['ward_code', 'quarter']) }}
)

select
    ward_code,
    ward_name,
    quarter,
    cast(households_in_ta as integer) as households_in_ta,
    cast(households_with_children as integer) as households_with_children,
    _sha256 as delivery_sha256,
    _received_at as received_at
from latest
