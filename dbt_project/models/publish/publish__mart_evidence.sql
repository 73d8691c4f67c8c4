-- mart_evidence as it leaves the warehouse, in long form: one row per HDRC evaluation, Marmot
-- principle and catalogue indicator it measured (indicator_id NULL when it names none). No
-- counts of people: passed through with the disclosure rule set's version.
select
    e.evaluation_id::varchar as evaluation_id,
    e.intervention::varchar as intervention,
    e.principle_id::integer as principle_id,
    e.principle_name::varchar as principle_name,
    i.indicator_id::varchar as indicator_id,
    e.design::varchar as design,
    e.population::varchar as population,
    e.finding::varchar as finding,
    e.effect_size::double as effect_size,
    e.status::varchar as status,
    e.link::varchar as link,
    {{ disclosure_rules_version() }}::varchar as disclosure_rules_version
from {{ ref('mart_evidence') }} as e
left join unnest(e.indicator_ids) as i (indicator_id) on true
