-- One row per business. Each delivery is the whole pledge list as it stands, so a business
-- that withdrew is absent from later files: the latest delivery of each business is kept,
-- and still_pledged says whether it is in the most recent list. A list carries no date of
-- withdrawal: lapsed_at is when the first list without the business was received.
with source as (
    select * from {{ source('raw_council_procurement', 'council_procurement__business_pledges') }}
),

newest_delivery as (
    select _sha256 from source
    order by _received_at desc, _sha256 asc
    limit 1
),

latest as (
    {{ latest_delivery('source', ['business_name']) }}
),

deliveries as (
    select distinct _sha256, _received_at from source
)

select
    business_name,
    sector,
    size_band,
    ward_code,
    ward_name,
    date_pledged,
    pledges,
    len(list_filter(string_split(pledges, ';'), p -> trim(p) <> '')) as pledge_count,
    living_wage_employer,
    _sha256 in (select newest_delivery._sha256 from newest_delivery) as still_pledged,
    case
        when _sha256 not in (select newest_delivery._sha256 from newest_delivery)
            then coalesce(
                (
                    select min(d._received_at) from deliveries as d
                    where d._received_at > latest._received_at
                ),
                (select max(d._received_at) from deliveries as d)
            )
    end as lapsed_at,
    _sha256 as delivery_sha256,
    _received_at as received_at
from latest
