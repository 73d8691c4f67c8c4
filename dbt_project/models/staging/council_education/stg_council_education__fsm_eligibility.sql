-- One row per ward and census term: when a term is delivered again (a revision), the
-- latest delivery wins.
with source as (
    select * from {{ source('raw_council_education', 'council_education__fsm_eligibility') }}
),

latest as (
    {{ latest_delivery('source', ['ward_code', 'census_term']) }}
)

select
    ward_code,
    ward_name,
    census_term,
    -- "Spring 2024" -> 2024 and 1: terms sort Spring (January census), Summer (May), Autumn
    -- (October) within a calendar year.
    cast(right(census_term, 4) as integer) as census_year,
    case split_part(census_term, ' ', 1)
        when 'Spring' then 1 when 'Summer' then 2 when 'Autumn' then 3
    end as census_term_order,
    cast(pupils_on_roll as integer) as pupils_on_roll,
    cast(pupils_eligible as integer) as pupils_eligible,
    cast(eligible_taking_meal as integer) as eligible_taking_meal,
    _sha256 as delivery_sha256,
    _received_at as received_at
from latest
