-- Proportionate universalism, measured: for each service with reach data (seed `services`),
-- reach per 1,000 eligible residents in each local deprivation quintile of wards, against the
-- need the service answers (a catalogue indicator), with the gradient of each and whether help
-- rises with need.
--
-- Reach counts people, not contacts (the catalogue's reach indicators: distinct children,
-- distinct clients), so reach per 1,000 can never exceed 1,000; reach_measure names it.
--
-- Both reach and need are taken at each ward's latest whole period (int_ward_latest_values:
-- never a partial one) and grouped by the wards' local
-- quintiles (1 = most deprived), so they are compared on the same areas. Where a ward value
-- has counts, a quintile's value is its summed numerator over its summed denominator;
-- otherwise the population-weighted mean of its wards.
--
-- Gradient = - SII: the modelled difference between the most and the least deprived ends
-- (positive: higher where deprivation is greater). Proportionality ratio = (reach in quintile
-- 1 / reach in quintile 5) / (need in quintile 1 / need in quintile 5): 1 means help rises
-- exactly in proportion to need; above 1, faster.

with

services as (

    select * from {{ ref('services') }}

),

catalogue as (

    select indicator_id, indicator_name, multiplier from {{ ref('dim_indicator') }}

),

wards as (

    select ward_code, population_total, local_deprivation_quintile as quintile
    from {{ ref('int_ward_deprivation') }}

),

ward_values as (

    select
        services.service_id,
        measure.kind,
        latest.*,
        wards.quintile,
        wards.population_total,
        catalogue.multiplier
    from services
    cross join (values ('reach'), ('need')) as measure (kind)
    inner join {{ ref('int_ward_latest_values') }} as latest
        on latest.indicator_id = case measure.kind
            when 'reach' then services.reach_indicator_id
            else services.need_indicator_id
        end
    inner join wards using (ward_code)
    inner join catalogue using (indicator_id)
    -- one sex per indicator: the catalogue lists Persons (or Not applicable) for these
    qualify row_number() over (
        partition by services.service_id, measure.kind, latest.ward_code order by latest.sex
    ) = 1

),

by_quintile as (

    select
        service_id, kind, quintile,
        any_value(indicator_id) as indicator_id,
        max(period) as period,
        sum(population_total) as population,
        case
            when
                count(numerator) = count(*)
                and count(denominator) = count(*)
                and sum(denominator) > 0
                then sum(numerator) / sum(denominator) * any_value(multiplier)
            else sum(value * population_total) / sum(population_total)
        end as value
    from ward_values
    group by service_id, kind, quintile

),

gradients as (

    {{ sii_fit('by_quintile', ['service_id', 'kind'], quantile='quintile') }}

),

wide as (

    select
        q.service_id, q.quintile,
        any_value(q.population) filter (where q.kind = 'reach') as population,
        any_value(q.value) filter (where q.kind = 'reach') as reach_value,
        any_value(q.value) filter (where q.kind = 'need') as need_value,
        any_value(q.period) filter (where q.kind = 'reach') as reach_period,
        any_value(q.period) filter (where q.kind = 'need') as need_period
    from by_quintile as q
    group by q.service_id, q.quintile

),

ends as (

    select
        service_id,
        any_value(reach_value) filter (where quintile = 1) as reach_most,
        any_value(reach_value) filter (where quintile = 5) as reach_least,
        any_value(need_value) filter (where quintile = 1) as need_most,
        any_value(need_value) filter (where quintile = 5) as need_least
    from wide
    group by service_id

)

select
    services.service_id::varchar as service_id,
    services.service_name::varchar as service_name,
    services.reach_indicator_id::varchar as reach_indicator_id,
    -- what the reach (and so the proportionality ratio) is measured in
    reach_catalogue.indicator_name::varchar as reach_measure,
    services.need_indicator_id::varchar as need_indicator_id,
    wide.quintile::integer as quintile,
    wide.population::double as population,
    wide.reach_period::varchar as reach_period,
    wide.reach_value::double as reach_per_1000,
    wide.need_period::varchar as need_period,
    wide.need_value::double as need_value,
    (-reach.sii)::double as reach_gradient,
    (-need.sii)::double as need_gradient,
    (ends.reach_most / nullif(ends.reach_least, 0))::double as reach_ratio_most_to_least,
    (ends.need_most / nullif(ends.need_least, 0))::double as need_ratio_most_to_least,
    (
        (ends.reach_most / nullif(ends.reach_least, 0))
        / nullif(ends.need_most / nullif(ends.need_least, 0), 0)
    )::double as proportionality_ratio,
    (-reach.sii > 0 and -need.sii > 0)::boolean as help_rises_with_need
from services
inner join wide using (service_id)
inner join ends using (service_id)
inner join catalogue as reach_catalogue
    on services.reach_indicator_id = reach_catalogue.indicator_id
left join gradients as reach on services.service_id = reach.service_id and reach.kind = 'reach'
left join gradients as need on services.service_id = need.service_id and need.kind = 'need'
