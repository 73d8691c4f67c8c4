-- mart_proportionate_universalism as it may leave the warehouse: per service and local
-- quintile of wards, the reach and need counts behind each quintile's value (the mart's own
-- aggregation, from the wards' latest unrounded counts) under disclosure control: counts 1-7,
-- denominators 1-7 and complements 1-7 suppress the quintile's value; counts are published
-- rounded to 5; a reach rate on fewer than 3 events is withheld. The quintiles of a service
-- add up to the place, so one suppressed quintile gets the smallest other one suppressed too
-- (secondary). The gradients and ratios, computed from unrounded values, are shown only when
-- no quintile of the service is suppressed, for reach or for need.

{%- set hidden = disclosure_hiding_reasons() %}

with

pu as (

    select * from {{ ref('mart_proportionate_universalism') }}

),

services as (

    select * from {{ ref('services') }}

),

wards as (

    select ward_code, local_deprivation_quintile as quintile
    from {{ ref('int_ward_deprivation') }}

),

indicators as (

    select indicator_id, method, period_kind from {{ ref('dim_indicator') }}

),

ward_values as (

    -- the mart's inputs: each ward's latest value of the reach and need indicators
    select
        services.service_id,
        measure.kind,
        latest.*,
        wards.quintile
    from services
    cross join (values ('reach'), ('need')) as measure (kind)
    inner join {{ ref('int_ward_latest_values') }} as latest
        on latest.indicator_id = case measure.kind
            when 'reach' then services.reach_indicator_id
            else services.need_indicator_id
        end
    inner join wards using (ward_code)
    qualify row_number() over (
        partition by services.service_id, measure.kind, latest.ward_code order by latest.sex
    ) = 1

),

by_quintile as (

    select
        service_id, kind, quintile,
        any_value(indicator_id) as indicator_id,
        case when count(numerator) = count(*) then sum(numerator) end as numerator,
        case when count(denominator) = count(*) then sum(denominator) end as denominator
    from ward_values
    group by service_id, kind, quintile

),

primary_reasons as (

    select
        by_quintile.*,
        indicators.period_kind,
        {{ disclosure_primary_reason(
            'by_quintile.numerator', 'by_quintile.denominator', 'indicators.method'
        ) }}
            as primary_reason
    from by_quintile
    inner join indicators on by_quintile.indicator_id = indicators.indicator_id

),

cells as (

    select
        * exclude (primary_reason),
        primary_reason as suppression_reason,
        concat_ws('|', service_id, kind) as group_quintiles
    from primary_reasons

),

secondary as (

    {{ disclosure_secondary_pass('cells', ['group_quintiles'], 'quintile') }}

),

wide as (

    select
        service_id, quintile,
        any_value(period_kind) filter (where kind = 'reach') as reach_period_kind,
        any_value(period_kind) filter (where kind = 'need') as need_period_kind,
        any_value(numerator) filter (where kind = 'reach') as reach_numerator,
        any_value(denominator) filter (where kind = 'reach') as reach_denominator,
        any_value(suppression_reason) filter (where kind = 'reach') as reach_suppression_reason,
        any_value(numerator) filter (where kind = 'need') as need_numerator,
        any_value(denominator) filter (where kind = 'need') as need_denominator,
        any_value(suppression_reason) filter (where kind = 'need') as need_suppression_reason
    from secondary
    group by service_id, quintile

),

final as (

    select
        pu.*,
        wide.* exclude (service_id, quintile),
        bool_or(
            wide.reach_suppression_reason is not null or wide.need_suppression_reason is not null
        ) over (partition by pu.service_id) as measures_withheld
    from pu
    left join wide using (service_id, quintile)

)

select
    service_id::varchar as service_id,
    service_name::varchar as service_name,
    reach_indicator_id::varchar as reach_indicator_id,
    reach_measure::varchar as reach_measure,
    need_indicator_id::varchar as need_indicator_id,
    quintile::integer as quintile,
    population::double as population,
    reach_period::varchar as reach_period,
    {{ period_start('reach_period', 'reach_period_kind') }}::date as reach_period_start,
    {{ period_end('reach_period', 'reach_period_kind') }}::date as reach_period_end,
    case
        when reach_suppression_reason not in {{ hidden }} or reach_suppression_reason is null
            then {{ disclosure_round('reach_numerator') }}
    end::double as reach_numerator,
    case
        when
            reach_suppression_reason not in ('denominator', 'secondary')
            or reach_suppression_reason is null
            then {{ disclosure_round('reach_denominator') }}
    end::double as reach_denominator,
    case when reach_suppression_reason is null then reach_per_1000 end::double as reach_per_1000,
    (reach_suppression_reason is not null)::boolean as reach_is_suppressed,
    reach_suppression_reason::varchar as reach_suppression_reason,
    need_period::varchar as need_period,
    {{ period_start('need_period', 'need_period_kind') }}::date as need_period_start,
    {{ period_end('need_period', 'need_period_kind') }}::date as need_period_end,
    case
        when need_suppression_reason not in {{ hidden }} or need_suppression_reason is null
            then {{ disclosure_round('need_numerator') }}
    end::double as need_numerator,
    case
        when
            need_suppression_reason not in ('denominator', 'secondary')
            or need_suppression_reason is null
            then {{ disclosure_round('need_denominator') }}
    end::double as need_denominator,
    case when need_suppression_reason is null then need_value end::double as need_value,
    (need_suppression_reason is not null)::boolean as need_is_suppressed,
    need_suppression_reason::varchar as need_suppression_reason,
    measures_withheld::boolean as measures_withheld,
    case when not measures_withheld then reach_gradient end::double as reach_gradient,
    case when not measures_withheld then need_gradient end::double as need_gradient,
    case
        when not measures_withheld then reach_ratio_most_to_least
    end::double as reach_ratio_most_to_least,
    case
        when not measures_withheld then need_ratio_most_to_least
    end::double as need_ratio_most_to_least,
    case when not measures_withheld then proportionality_ratio end::double as proportionality_ratio,
    case when not measures_withheld then help_rises_with_need end::boolean as help_rises_with_need,
    {{ disclosure_rules_version() }}::varchar as disclosure_rules_version
from final
