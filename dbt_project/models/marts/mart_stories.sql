-- Publishable stories from voluntary and community partners, one row per story and Marmot
-- principle, with the ward and the catalogue indicators of that principle, so a report can
-- set a story beside the numbers it speaks to. Stories without consent, or holding personal
-- data, never reach this table.

with

stories as (

    select * from {{ ref('stg_vcs__stories') }}
    where is_publishable

),

indicators as (

    select principle_id, list(indicator_id order by indicator_id) as indicator_ids
    from {{ ref('dim_indicator') }}
    group by principle_id

)

select
    md5(concat_ws('|', s.title, s.organisation, s.story_date))::varchar as story_id,
    s.title::varchar as title,
    s.organisation::varchar as organisation,
    p.principle_id::integer as principle_id,
    dp.principle_name::varchar as principle_name,
    s.ward_code::varchar as ward_code,
    s.ward::varchar as ward,
    s.story_date::date as story_date,
    s.body::varchar as body,
    coalesce(indicators.indicator_ids, [])::varchar[] as indicator_ids
from stories as s
cross join unnest(s.principle_ids) as p (principle_id)
inner join {{ ref('dim_principle') }} as dp on p.principle_id = dp.principle_id
left join indicators on p.principle_id = indicators.principle_id
