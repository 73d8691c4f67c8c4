-- mart_system_measures as it may leave the warehouse. Its counts are of contracts and of
-- businesses, few enough in a year or a principle to point at one supplier or employer, so
-- the counts get the same control as counts of people: 1-7 suppressed, others rounded to 5.
-- The reviewed share (and its limits, the value reviewed and the value-weighted share) is
-- shown only where neither the reviewed count, the contracts let, nor the unreviewed rest
-- is 1-7 (before or after rounding: disclosure_primary_reason); the value let only where
-- the contracts let are shown; the pounds stated only where the commitments are. The
-- services' counts are of the partnership's own services (seed services, reference data),
-- not of people or organisations, and leave as they are, as the scorecard's series do.

with

measures as (

    select
        *,
        {{ disclosure_primary_reason('contracts_reviewed', 'contracts_let', "'proportion'") }}
            as reviewed_suppression_reason
    from {{ ref('mart_system_measures') }}

)

select
    period_year::integer as period_year,
    principle_id::integer as principle_id,
    principle_name::varchar as principle_name,
    {{ disclosure_count('contracts_let') }}::double as contracts_let,
    case
        when not {{ disclosure_in_suppressed_range('contracts_let') }}
            then contract_value_let_gbp
    end::double as contract_value_let_gbp,
    case
        when reviewed_suppression_reason is null then {{ disclosure_count('contracts_reviewed') }}
    end::double as contracts_reviewed,
    case when reviewed_suppression_reason is null then reviewed_share end::double
        as reviewed_share,
    case when reviewed_suppression_reason is null then reviewed_share_lower_95 end::double
        as reviewed_share_lower_95,
    case when reviewed_suppression_reason is null then reviewed_share_upper_95 end::double
        as reviewed_share_upper_95,
    case when reviewed_suppression_reason is null then contract_value_reviewed_gbp end::double
        as contract_value_reviewed_gbp,
    case when reviewed_suppression_reason is null then reviewed_share_value_weighted end::double
        as reviewed_share_value_weighted,
    (reviewed_suppression_reason is not null)::boolean as reviewed_is_suppressed,
    reviewed_suppression_reason::varchar as reviewed_suppression_reason,
    {{ disclosure_count('social_value_commitments') }}::double as social_value_commitments,
    case
        when not {{ disclosure_in_suppressed_range('social_value_commitments') }}
            then social_value_stated_gbp
    end::double as social_value_stated_gbp,
    {{ disclosure_count('organisations_signed_up') }}::double as organisations_signed_up,
    {{ disclosure_count('pledges') }}::double as pledges,
    {{ disclosure_count('organisations_new') }}::double as organisations_new,
    {{ disclosure_count('organisations_lapsed') }}::double as organisations_lapsed,
    services::integer as services,
    services_with_both_offers::integer as services_with_both_offers,
    services_with_both_offers_share::double as services_with_both_offers_share,
    services_with_reach_data::integer as services_with_reach_data,
    services_help_rises_with_need::integer as services_help_rises_with_need,
    {{ disclosure_rules_version() }}::varchar as disclosure_rules_version
from measures
