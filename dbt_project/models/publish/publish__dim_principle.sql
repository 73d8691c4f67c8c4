-- dim_principle as it leaves the warehouse: the Marmot principles, passed through with the
-- disclosure rule set's version.
select
    principle_id,
    principle_name,
    since_year,
    {{ disclosure_rules_version() }}::varchar as disclosure_rules_version
from {{ ref('dim_principle') }}
