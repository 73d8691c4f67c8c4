-- One row per hub, ward, service and month: when a month is delivered again (a revision),
-- the latest delivery wins.
with source as (
    select * from {{ source('raw_council_family_hubs', 'council_family_hubs__contacts') }}
),

latest as (
    {{ latest_delivery('source', ['hub', 'ward_code', 'service', 'month']) }}
)

select
    hub,
    ward_code,
    ward_name,
    service,
    month,
    cast(month || '-01' as date) as month_start,
    cast(contacts as integer) as contacts,
    cast(children_reached as integer) as children_reached,
    _sha256 as delivery_sha256,
    _received_at as received_at
from latest
