-- The evidence register (HDRC): one row per evaluation and Marmot principle, with the
-- catalogue indicators it measured, so evidence of what works sits beside the numbers.

with

register as (

    select * from {{ ref('stg_hdrc__evidence_register') }}

),

known_indicators as (

    -- the register's indicator ids that are in the catalogue (a typo is dropped, not shown)
    select
        r.intervention, r.design, r.population,
        list(distinct i.indicator_id order by i.indicator_id) as indicator_ids
    from register as r
    cross join unnest(r.indicator_ids) as u (indicator_id)
    inner join {{ ref('dim_indicator') }} as i on u.indicator_id = i.indicator_id
    group by all

)

select
    md5(concat_ws('|', r.intervention, r.design, r.population))::varchar as evaluation_id,
    r.intervention::varchar as intervention,
    p.principle_id::integer as principle_id,
    dp.principle_name::varchar as principle_name,
    coalesce(k.indicator_ids, [])::varchar[] as indicator_ids,
    r.design::varchar as design,
    r.population::varchar as population,
    r.finding::varchar as finding,
    r.effect_size::double as effect_size,
    r.status::varchar as status,
    r.link::varchar as link
from register as r
left join known_indicators as k
    on
        r.intervention = k.intervention and r.design = k.design
        and k.population is not distinct from r.population
cross join unnest(r.principle_ids) as p (principle_id)
inner join {{ ref('dim_principle') }} as dp on p.principle_id = dp.principle_id
