-- Reach counts distinct people (children reached, clients), so reach per 1,000 eligible
-- residents can never pass 1,000 in any area or period: a value above it means contacts or
-- episodes were summed as if they were people. Tested on the values before the marts, so a
-- failure stops the marts being built (dbt build skips the children of a failing test).
-- Fails with every offending value.
-- (A check of int_local_indicator_values in Dagster: the test reads the services seed too.)
{{ config(meta={'dagster': {'ref': {'name': 'int_local_indicator_values'}}}) }}
select v.indicator_id, v.area_code, v.period, v.category_type, v.category, v.value
from {{ ref('int_local_indicator_values') }} as v
inner join {{ ref('services') }} as s on v.indicator_id = s.reach_indicator_id
where v.value > 1000
