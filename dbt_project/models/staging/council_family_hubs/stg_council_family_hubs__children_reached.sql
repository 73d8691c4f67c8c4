-- One row per hub, ward and quarter: when a quarter is delivered again (a revision), the
-- latest delivery wins.
with source as (
    select * from {{ source('raw_council_family_hubs', 'council_family_hubs__children_reached') }}
),

latest as (
    {{ latest_delivery('source', ['hub', 'ward_code', 'quarter']) }}
)

select
    hub,
    ward_code,
    ward_name,
    quarter,
    cast(children_reached as integer) as children_reached,
    _sha256 as delivery_sha256,
    _received_at as received_at
from latest
