-- dim_area as it leaves the warehouse: reference data (areas, deprivation ranks, MHCLG's
-- published populations), no counts computed here, passed through with the rule set's version.
select
    area_code,
    area_name,
    area_type,
    parent_area_code,
    is_place,
    imd_rank,
    imd_decile,
    local_imd_quintile,
    population_total,
    imd_rank_population_weighted,
    {{ disclosure_rules_version() }}::varchar as disclosure_rules_version
from {{ ref('dim_area') }}
