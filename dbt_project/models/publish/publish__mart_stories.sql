-- mart_stories as it leaves the warehouse, in long form: one row per publishable story,
-- Marmot principle and catalogue indicator of that principle (indicator_id NULL when the
-- principle has none). The mart holds publishable stories only (consent given, no personal
-- data); the filter on the staging flag is repeated here so that a story's body can never be
-- published without it.
select
    s.story_id::varchar as story_id,
    s.title::varchar as title,
    s.organisation::varchar as organisation,
    s.principle_id::integer as principle_id,
    s.principle_name::varchar as principle_name,
    i.indicator_id::varchar as indicator_id,
    s.ward_code::varchar as ward_code,
    s.ward::varchar as ward,
    s.story_date::date as story_date,
    s.body::varchar as body,
    {{ disclosure_rules_version() }}::varchar as disclosure_rules_version
from {{ ref('mart_stories') }} as s
left join unnest(s.indicator_ids) as i (indicator_id) on true
where exists (
    select 1
    from {{ ref('stg_vcs__stories') }} as v
    where
        v.is_publishable
        and md5(concat_ws('|', v.title, v.organisation, v.story_date)) = s.story_id
)
