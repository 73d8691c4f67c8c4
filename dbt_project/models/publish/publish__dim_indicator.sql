-- dim_indicator as it leaves the warehouse: the catalogue, passed through with the disclosure
-- rule set's version.
select
    indicator_id,
    indicator_name,
    principle_id,
    polarity,
    unit,
    multiplier,
    method,
    source,
    geography_levels,
    fingertips_id,
    comparable_fingertips_id,
    sexes,
    age,
    period_kind,
    {{ disclosure_rules_version() }}::varchar as disclosure_rules_version
from {{ ref('dim_indicator') }}
