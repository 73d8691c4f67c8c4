-- Inequality within the place, per indicator, period and quantile scheme (national IMD
-- deciles, local quintiles): the value in each quantile, the gap between the most and least
-- deprived, the slope and relative indices of inequality (SII, RII) with 95% limits, and
-- whether the gap narrowed, widened or held since the previous period. Values computed here
-- come in as published ones do: life expectancy from death registrations by national decile
-- (three pooled years) and local quintile (five pooled years), by sex.
--
-- SII (brief, section 6): quantiles ordered from most to least deprived, population share a,
-- relative rank b = cumulative share - a/2; the weighted least-squares line of value on b
-- (weights a) has slope SII: the modelled difference least minus most deprived. RII =
-- (intercept + SII) / intercept. Point estimates are closed-form here; their limits come from
-- the simulation in int_inequality_sii_limits.
--
-- Where the SII is also an indicator of its own, computed here (catalogue method 'sii', e.g.
-- life expectancy's SII across national deciles, Fingertips 92901's definition), that value
-- and its simulated limits are the row's SII, so the two never disagree: it is the SII of the
-- national deciles of the one indicator of the same source, principle, period, sex and age.
-- (Its point estimate is the same weighted fit on the same deciles; only the simulation's
-- draws would differ.)
--
-- The gap trend runs over whole periods only: a partial period (the data cover it only in
-- part, is_partial) keeps its values, flagged, but is compared with nothing, and the next
-- whole period is compared with the previous whole one.

with

quantiles as (

    select * from {{ ref('int_inequality_quantiles') }}

),

place as (

    select area_code from {{ ref('stg_place__areas') }}
    where is_place

),

catalogue as (

    select indicator_id, principle_id, method
    from {{ ref('stg_reference__indicator_catalogue') }}

),

fit as (

    {{ sii_fit('quantiles', ['indicator_id', 'period', 'sex', 'age', 'quantile_scheme']) }}

),

scheme_sizes as (

    -- a scheme's least deprived quantile: its highest number in the place, for any indicator
    -- (values withheld included: a decile with no value is still the least deprived)
    select quantile_scheme, max(quantile) as top_quantile
    from (
        select q.quantile_scheme, q.quantile from quantiles as q
        union all
        select v.category_type as quantile_scheme, v.category::integer as quantile
        from {{ ref('int_all_indicator_values') }} as v
        inner join place on v.area_code = place.area_code
        where v.category_type in (select q.quantile_scheme from quantiles as q)
    )
    group by all

),

fitted as (

    select
        q.indicator_id, q.period, any_value(q.period_sortable) as period_sortable, q.sex, q.age,
        q.quantile_scheme,
        bool_or(coalesce(q.is_partial, false)) as is_partial,
        any_value(q.source) as source,
        any_value(q.principle_id) as principle_id,
        any_value(q.method) as method,
        any_value(fit.quantiles) as quantiles,
        any_value(fit.sii) as slope,
        any_value(fit.rii) as fitted_rii,
        max(q.value) filter (where q.quantile = 1) as most_deprived_value,
        -- NULL when the least deprived quantile has no value (withheld or absent): a gap to
        -- the next one would not be the gap between the ends
        max(q.value) filter (where q.quantile = sizes.top_quantile) as least_deprived_value,
        to_json(list(
            {
                'quantile': q.quantile,
                'value': q.value,
                'lower_ci_95': q.lower_ci_95,
                'upper_ci_95': q.upper_ci_95,
                'population': q.population
            }
            order by q.quantile
        )) as quantile_values
    from quantiles as q
    inner join fit using (indicator_id, period, sex, age, quantile_scheme)
    inner join scheme_sizes as sizes using (quantile_scheme)
    group by q.indicator_id, q.period, q.sex, q.age, q.quantile_scheme, sizes.top_quantile

),

published_sii as (

    -- SIIs computed here as indicators of their own, for the place
    select
        v.indicator_id as sii_indicator_id, v.source, catalogue.principle_id, v.period, v.sex,
        v.age, v.value, v.lower_ci_95, v.upper_ci_95, v.value_note
    from {{ ref('int_all_indicator_values') }} as v
    inner join place on v.area_code = place.area_code
    inner join catalogue using (indicator_id)
    where
        catalogue.method = 'sii' and v.category_type is null
        and v.source <> 'OHID Fingertips'

),

sii_of as (

    -- the deciles each of them summarises: one indicator, or none when ambiguous
    select
        fitted.indicator_id, fitted.period, fitted.sex, fitted.age, fitted.quantile_scheme,
        s.sii_indicator_id, s.value as sii_value, s.lower_ci_95 as sii_value_lower,
        s.upper_ci_95 as sii_value_upper, s.value_note as sii_value_note
    from fitted
    inner join published_sii as s
        on
            fitted.source = s.source
            and fitted.principle_id = s.principle_id
            and fitted.period = s.period
            and fitted.sex = s.sex
            and fitted.age = s.age
    where fitted.quantile_scheme = 'National IMD decile' and fitted.method <> 'sii'
    qualify count(*) over (partition by s.sii_indicator_id, s.period, s.sex, s.age) = 1

),

measures as (

    select
        fitted.*,
        sii_of.sii_indicator_id,
        -- SII needs at least 5 quantiles (as phe_sii)
        case
            when sii_of.sii_indicator_id is not null then sii_of.sii_value
            when fitted.quantiles >= 5 then fitted.slope
        end as sii,
        case when fitted.quantiles >= 5 then fitted.fitted_rii end as rii,
        case
            when sii_of.sii_indicator_id is not null then sii_of.sii_value_lower
            else limits.sii_lower
        end as sii_lower,
        case
            when sii_of.sii_indicator_id is not null then sii_of.sii_value_upper
            else limits.sii_upper
        end as sii_upper,
        limits.rii_lower,
        limits.rii_upper,
        case
            when sii_of.sii_indicator_id is not null then sii_of.sii_value_note
            when fitted.quantiles < 5 then 'fewer than 5 quantiles'
            else limits.sii_reason::varchar
        end as sii_note
    from fitted
    left join {{ ref('int_inequality_sii_limits') }} as limits
        on
            fitted.indicator_id = limits.indicator_id
            and fitted.period = limits.period
            and fitted.sex = limits.sex
            and fitted.age = limits.age
            and fitted.quantile_scheme = limits.quantile_scheme
    left join sii_of
        on
            fitted.indicator_id = sii_of.indicator_id
            and fitted.period = sii_of.period
            and fitted.sex = sii_of.sex
            and fitted.age = sii_of.age
            and fitted.quantile_scheme = sii_of.quantile_scheme

),

with_previous as (

    -- the series runs per is_partial, and a partial period takes no previous one
    select
        *,
        case when not is_partial then lag(period) over series end as previous_period,
        case when not is_partial then lag(sii) over series end as previous_sii,
        case when not is_partial then lag(sii_lower) over series end as previous_sii_lower,
        case when not is_partial then lag(sii_upper) over series end as previous_sii_upper
    from measures
    window series as (
        partition by indicator_id, sex, age, quantile_scheme, is_partial
        order by period_sortable, period
    )

)

select
    indicator_id::varchar as indicator_id,
    period::varchar as period,
    period_sortable::bigint as period_sortable,
    sex::varchar as sex,
    age::varchar as age,
    quantile_scheme::varchar as quantile_scheme,
    is_partial::boolean as is_partial,
    quantiles::integer as quantiles,
    quantile_values::json as quantile_values,
    most_deprived_value::double as most_deprived_value,
    least_deprived_value::double as least_deprived_value,
    (most_deprived_value - least_deprived_value)::double as absolute_gap,
    (most_deprived_value / nullif(least_deprived_value, 0))::double as relative_gap,
    -- rounded to 10 decimals: floating-point noise in the sums must not reach the marts
    round(sii, 10)::double as sii,
    sii_lower::double as sii_lower,
    sii_upper::double as sii_upper,
    round(rii, 10)::double as rii,
    rii_lower::double as rii_lower,
    rii_upper::double as rii_upper,
    sii_note::varchar as sii_note,
    sii_indicator_id::varchar as sii_indicator_id,
    previous_period::varchar as previous_period,
    {{ gap_trend('sii', 'sii_lower', 'sii_upper', 'previous_sii', 'previous_sii_lower',
                 'previous_sii_upper') }}::varchar as gap_trend,
    source::varchar as source
from with_previous
