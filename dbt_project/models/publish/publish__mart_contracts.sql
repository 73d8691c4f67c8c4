-- mart_contracts as it leaves the warehouse: the council's contracts by name only where the
-- contracts register is itself public (its dataset contract's public_register flag); when it
-- is not, no row leaves (mart_system_measures publishes them in aggregate). Even then a
-- supplier is named only when it is an organisation (a company or a VCSE): a sole trader's
-- or a partnership's name may be a person's, so it is withheld with the reason. No counts
-- of people: rows pass with the disclosure rule set's version.
select
    reference,
    title,
    department,
    case when supplier_kind in ('company', 'vcse') then supplier_name end::varchar
        as supplier_name,
    case when supplier_kind in ('company', 'vcse') then supplier_company_number end::varchar
        as supplier_company_number,
    supplier_kind,
    case
        when supplier_kind not in ('company', 'vcse') then 'not an organisation: may name a person'
    end::varchar as supplier_withheld_reason,
    is_sme,
    is_vcse,
    contract_value_gbp,
    start_date,
    end_date,
    period_year,
    health_inequalities_lens_review,
    in_latest_register,
    {{ disclosure_rules_version() }}::varchar as disclosure_rules_version
from {{ ref('mart_contracts') }}
where is_public_register
