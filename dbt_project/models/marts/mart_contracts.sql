-- The council's contracts, one row each, as the Transparency Code register lists them, with
-- the health inequalities lens review the procurement team records and whether the register
-- is public (the dataset contract's public_register flag, stg_place__partner_datasets).
--
-- supplier_kind says whether a supplier is an organisation: 'company' (a Companies House
-- number), 'vcse' (a voluntary or community organisation without one, e.g. a charity) or
-- 'unregistered' (neither: a sole trader or a partnership, whose name may be a person's).
-- publish__mart_contracts names only organisations, and only when the register is public.
-- Free text (description, social value commitments) stays here: it may name anyone.

with

contracts as (

    select * from {{ ref('stg_council_procurement__contracts_register') }}

),

register as (

    select coalesce(bool_or(is_public_register), false) as is_public_register
    from {{ ref('stg_place__partner_datasets') }}
    where dataset_table = 'council_procurement__contracts_register'

)

select
    contracts.reference::varchar as reference,
    contracts.title::varchar as title,
    contracts.department::varchar as department,
    contracts.supplier_name::varchar as supplier_name,
    contracts.supplier_company_number::varchar as supplier_company_number,
    (case
        when nullif(trim(contracts.supplier_company_number), '') is not null then 'company'
        when contracts.vcse then 'vcse'
        else 'unregistered'
    end)::varchar as supplier_kind,
    contracts.sme::boolean as is_sme,
    contracts.vcse::boolean as is_vcse,
    contracts.contract_value::double as contract_value_gbp,
    contracts.start_date::date as start_date,
    contracts.end_date::date as end_date,
    -- counted in the year let, as in mart_system_measures
    year(contracts.start_date)::integer as period_year,
    contracts.health_inequalities_lens_review::boolean as health_inequalities_lens_review,
    contracts.in_latest_register::boolean as in_latest_register,
    register.is_public_register::boolean as is_public_register
from contracts
cross join register
