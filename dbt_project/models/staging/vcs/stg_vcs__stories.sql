-- One row per story (a group and a title); a story sent again replaces the earlier version.
-- The body is carried only when the story may be published: with consent, and holding no
-- personal data. Wards arrive as a name or a code; both are matched to the ward code.
with source as (
    select * from {{ source('raw_vcs', 'vcs__stories') }}
),

latest as (
    {{ latest_delivery('source', ['partner', 'title']) }}
),

wards as (
    select distinct ward_code, ward_name from {{ ref('stg_ons__lsoa_ward_lookup') }}
),

stories as (
    select
        latest.*,
        coalesce(latest.consent_to_publish and not latest.contains_personal_data, false)
            as is_publishable,
        wards.ward_code as matched_ward_code
    from latest
    -- Names compared on letters and digits only: "St Michael's" = "St. Michaels".
    left join wards
        on
            upper(trim(latest.ward)) = wards.ward_code
            or regexp_replace(lower(latest.ward), '[^a-z0-9]', '', 'g')
            = regexp_replace(lower(wards.ward_name), '[^a-z0-9]', '', 'g')
)

select
    title,
    partner as organisation,
    list_transform(string_split(principles, '|'), p -> cast(p as integer)) as principle_ids,
    ward,
    matched_ward_code as ward_code,
    date as story_date,
    consent_to_publish,
    contains_personal_data,
    is_publishable,
    case when is_publishable then body end as body,
    _sha256 as delivery_sha256,
    _received_at as received_at
from stories
