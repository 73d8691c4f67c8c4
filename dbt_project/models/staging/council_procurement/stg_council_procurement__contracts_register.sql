-- One row per contract. Each quarter's register lists the contracts live at its date, so a
-- contract that ended drops out of later files: the latest delivery of each reference is
-- kept (history stays), and in_latest_register says whether it is still listed.
with source as (
    select * from {{ source('raw_council_procurement', 'council_procurement__contracts_register') }}
),

newest_delivery as (
    select _sha256 from source
    order by _received_at desc, _sha256 asc
    limit 1
),

latest as (
    {{ latest_delivery('source', ['reference']) }}
)

select
    reference,
    title,
    department,
    description,
    supplier_name,
    -- Excel drops the leading zeros of numeric Companies House numbers: put them back.
    case
        when
            regexp_full_match(supplier_company_number, '\d+')
            then lpad(supplier_company_number, 8, '0')
        else supplier_company_number
    end as supplier_company_number,
    sme,
    vcse,
    contract_value,
    start_date,
    end_date,
    review_date,
    health_inequalities_lens_review,
    social_value_commitments,
    _sha256 in (select newest_delivery._sha256 from newest_delivery) as in_latest_register,
    _sha256 as delivery_sha256,
    _received_at as received_at
from latest
