-- One row per evaluation and catalogue indicator it measures: the join from "what works"
-- evidence to the indicators (and, through them, to the Marmot principles).
select
    intervention,
    design,
    unnest(indicator_ids) as indicator_id
from {{ ref('stg_hdrc__evidence_register') }}
where indicator_ids is not null
