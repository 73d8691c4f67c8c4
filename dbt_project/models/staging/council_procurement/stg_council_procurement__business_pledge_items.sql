-- One row per business and commitment, so pledges can be counted by kind (how many
-- businesses pledged to recruit from the most deprived wards, and where they are).
with pledges as (
    select * from {{ ref('stg_council_procurement__business_pledges') }}
),

items as (
    select
        business_name,
        ward_code,
        still_pledged,
        trim(unnest(string_split(pledges, ';'))) as pledge
    from pledges
)

select distinct business_name, ward_code, still_pledged, pledge
from items
where pledge <> ''
