-- One row per evaluation (an intervention and a study design): each delivery is the register
-- as it stands, so the latest delivery of an evaluation wins. The ';'-separated principles and
-- indicators become lists.
with source as (
    select * from {{ source('raw_hdrc', 'hdrc__evidence_register') }}
),

latest as (
    {{ latest_delivery('source', ['intervention', 'design']) }}
)

select
    intervention,
    list_transform(string_split(replace(principles, ' ', ''), ';'), p -> cast(p as integer))
        as principle_ids,
    case
        when indicators is not null then string_split(replace(indicators, ' ', ''), ';')
    end as indicator_ids,
    design,
    population,
    finding,
    effect_size,
    status,
    link,
    _sha256 as delivery_sha256,
    _received_at as received_at
from latest
