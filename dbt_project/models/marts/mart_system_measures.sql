-- The Marmot approach itself, measured: is it spreading through the council's own spending
-- and the city's businesses? Per calendar year, one row for the whole system (principle_id
-- null) and one per Marmot principle that a social value commitment or a business pledge
-- serves that year.
--
-- Contracts (stg_council_procurement__contracts_register) count in the year they were let
-- (start_date), however many years they run, with their whole-life value. The reviewed
-- share is of contracts (Wilson 95% limits); the value-weighted one says so in its name and
-- has no limits (a few large contracts dominate it). Contracts are not put to principles:
-- their social value commitments are (seed system_principles), counted in the contract's
-- year with the pounds the commitment states ("£12,000 to community food projects"), zero
-- where it states none.
--
-- Businesses Committed to a Fairer Coventry: signed up at a year's end = pledged by then and
-- not lapsed by then; new = pledged in the year; lapsed = learnt in the year to have left
-- the list (lapsed_at). A pledge serves every principle of every phrase it contains.
--
-- Services (seed services, not by year): the share with both a universal and a targeted
-- offer, and of those with reach data how many mart_proportionate_universalism finds help
-- rising with need; on the whole-system rows. Nothing here names a supplier or a person.

with

contracts as (

    select
        reference,
        year(start_date) as period_year,
        contract_value,
        health_inequalities_lens_review as reviewed,
        social_value_commitments
    from {{ ref('stg_council_procurement__contracts_register') }}

),

commitments as (

    select distinct
        contracts.reference,
        contracts.period_year,
        trim(c.commitment) as commitment
    from contracts
    cross join unnest(string_split(contracts.social_value_commitments, ';')) as c (commitment)
    where trim(c.commitment) <> ''

),

commitments_valued as (

    select
        *,
        coalesce(
            try_cast(
                replace(regexp_extract(commitment, '£\s*([0-9][0-9,]*)', 1), ',', '') as double
            ),
            0
        ) as stated_gbp
    from commitments

),

map as (

    select kind, lower(phrase) as phrase, principle_id from {{ ref('system_principles') }}

),

commitment_principles as (

    select distinct cv.reference, cv.period_year, cv.commitment, cv.stated_gbp, map.principle_id
    from commitments_valued as cv
    inner join map on map.kind = 'social_value' and contains(lower(cv.commitment), map.phrase)

),

businesses as (

    select
        business_name,
        year(date_pledged) as pledged_year,
        year(lapsed_at) as lapsed_year
    from {{ ref('stg_council_procurement__business_pledges') }}

),

pledge_principles as (

    select distinct items.business_name, items.pledge, map.principle_id
    from {{ ref('stg_council_procurement__business_pledge_items') }} as items
    inner join map on map.kind = 'pledge' and contains(lower(items.pledge), map.phrase)

),

pledge_items as (

    select items.business_name, items.pledge
    from {{ ref('stg_council_procurement__business_pledge_items') }} as items

),

years as (

    select period_year from contracts
    union
    select pledged_year from businesses
    union
    select lapsed_year from businesses
    where lapsed_year is not null

),

-- businesses on the list at each year's end, and the years they joined or left
business_years as (

    select
        years.period_year,
        b.business_name,
        b.pledged_year <= years.period_year
        and coalesce(b.lapsed_year > years.period_year, true) as signed_up,
        b.pledged_year = years.period_year as joined,
        coalesce(b.lapsed_year = years.period_year, false) as lapsed
    from years
    cross join businesses as b

),

services as (

    select
        count(*) as services,
        count(*) filter (where has_universal_offer and has_targeted_offer)
            as services_with_both_offers,
        count(*) filter (where reach_indicator_id is not null) as services_with_reach_data
    from {{ ref('services') }}

),

verdicts as (

    select count(distinct service_id) filter (where help_rises_with_need) as help_rises
    from {{ ref('mart_proportionate_universalism') }}

),

system_contracts as (

    select
        period_year,
        count(*) as contracts_let,
        sum(contract_value) as contract_value_let,
        count(*) filter (where reviewed) as contracts_reviewed,
        coalesce(sum(contract_value) filter (where reviewed), 0) as contract_value_reviewed
    from contracts
    group by period_year

),

system_commitments as (

    select period_year, count(*) as commitments, sum(stated_gbp) as stated_gbp
    from commitments_valued
    group by period_year

),

system_businesses as (

    select
        business_years.period_year,
        count(*) filter (where business_years.signed_up) as organisations_signed_up,
        count(*) filter (where business_years.joined) as organisations_new,
        count(*) filter (where business_years.lapsed) as organisations_lapsed
    from business_years
    group by business_years.period_year

),

system_pledges as (

    select business_years.period_year, count(*) as pledges
    from business_years
    inner join pledge_items using (business_name)
    where business_years.signed_up
    group by business_years.period_year

),

principle_commitments as (

    select principle_id, period_year, count(*) as commitments, sum(stated_gbp) as stated_gbp
    from commitment_principles
    group by principle_id, period_year

),

principle_businesses as (

    select
        pp.principle_id,
        business_years.period_year,
        count(distinct business_years.business_name) filter (where business_years.signed_up)
            as organisations_signed_up,
        count(distinct business_years.business_name) filter (where business_years.joined)
            as organisations_new,
        count(distinct business_years.business_name) filter (where business_years.lapsed)
            as organisations_lapsed,
        count(*) filter (where business_years.signed_up) as pledges
    from business_years
    inner join pledge_principles as pp using (business_name)
    group by pp.principle_id, business_years.period_year

),

system_rows as (

    select
        years.period_year,
        null::integer as principle_id,
        'All principles' as principle_name,
        coalesce(sc.contracts_let, 0) as contracts_let,
        coalesce(sc.contract_value_let, 0) as contract_value_let,
        coalesce(sc.contracts_reviewed, 0) as contracts_reviewed,
        coalesce(sc.contract_value_reviewed, 0) as contract_value_reviewed,
        coalesce(cm.commitments, 0) as social_value_commitments,
        coalesce(cm.stated_gbp, 0) as social_value_stated_gbp,
        coalesce(sb.organisations_signed_up, 0) as organisations_signed_up,
        coalesce(sp.pledges, 0) as pledges,
        coalesce(sb.organisations_new, 0) as organisations_new,
        coalesce(sb.organisations_lapsed, 0) as organisations_lapsed,
        services.services,
        services.services_with_both_offers,
        services.services_with_reach_data,
        verdicts.help_rises as services_help_rises_with_need
    from years
    cross join services
    cross join verdicts
    left join system_contracts as sc using (period_year)
    left join system_commitments as cm using (period_year)
    left join system_businesses as sb using (period_year)
    left join system_pledges as sp using (period_year)

),

principle_rows as (

    select
        years.period_year,
        p.principle_id,
        p.principle_name,
        null::bigint as contracts_let,
        null::double as contract_value_let,
        null::bigint as contracts_reviewed,
        null::double as contract_value_reviewed,
        coalesce(pc.commitments, 0) as social_value_commitments,
        coalesce(pc.stated_gbp, 0) as social_value_stated_gbp,
        coalesce(pb.organisations_signed_up, 0) as organisations_signed_up,
        coalesce(pb.pledges, 0) as pledges,
        coalesce(pb.organisations_new, 0) as organisations_new,
        coalesce(pb.organisations_lapsed, 0) as organisations_lapsed,
        null::bigint as services,
        null::bigint as services_with_both_offers,
        null::bigint as services_with_reach_data,
        null::bigint as services_help_rises_with_need
    from years
    cross join {{ ref('dim_principle') }} as p
    left join principle_commitments as pc
        on years.period_year = pc.period_year and p.principle_id = pc.principle_id
    left join principle_businesses as pb
        on years.period_year = pb.period_year and p.principle_id = pb.principle_id
    where pc.commitments > 0 or pb.organisations_signed_up > 0 or pb.organisations_lapsed > 0

),

measures as (

    select * from system_rows
    union all by name
    select * from principle_rows

)

select
    period_year::integer as period_year,
    principle_id::integer as principle_id,
    principle_name::varchar as principle_name,
    contracts_let::integer as contracts_let,
    contract_value_let::double as contract_value_let_gbp,
    contracts_reviewed::integer as contracts_reviewed,
    (contracts_reviewed / nullif(contracts_let, 0))::double as reviewed_share,
    {{ wilson_lower('contracts_reviewed', 'contracts_let', stats_z(0.95)) }}::double
        as reviewed_share_lower_95,
    {{ wilson_upper('contracts_reviewed', 'contracts_let', stats_z(0.95)) }}::double
        as reviewed_share_upper_95,
    contract_value_reviewed::double as contract_value_reviewed_gbp,
    (contract_value_reviewed / nullif(contract_value_let, 0))::double
        as reviewed_share_value_weighted,
    social_value_commitments::integer as social_value_commitments,
    social_value_stated_gbp::double as social_value_stated_gbp,
    organisations_signed_up::integer as organisations_signed_up,
    pledges::integer as pledges,
    organisations_new::integer as organisations_new,
    organisations_lapsed::integer as organisations_lapsed,
    services::integer as services,
    services_with_both_offers::integer as services_with_both_offers,
    (services_with_both_offers / nullif(services, 0))::double as services_with_both_offers_share,
    services_with_reach_data::integer as services_with_reach_data,
    services_help_rises_with_need::integer as services_help_rises_with_need
from measures
