-- Inequality within the place, per indicator, period and quantile scheme (national IMD
-- deciles, local quintiles): the value in each quantile, the gap between the most and least
-- deprived, the slope and relative indices of inequality (SII, RII) with 95% limits, and
-- whether the gap narrowed, widened or held since the previous period.
--
-- SII (brief, section 6): quantiles ordered from most to least deprived, population share a,
-- relative rank b = cumulative share - a/2; the weighted least-squares line of value on b
-- (weights a) has slope SII: the modelled difference least minus most deprived. RII =
-- (intercept + SII) / intercept. Point estimates are closed-form here; their limits come from
-- the simulation in int_inequality_sii_limits.

with

quantiles as (

    select * from {{ ref('int_inequality_quantiles') }}

),

fit as (

    {{ sii_fit('quantiles', ['indicator_id', 'period', 'sex', 'age', 'quantile_scheme']) }}

),

fitted as (

    select
        q.indicator_id, q.period, any_value(q.period_sortable) as period_sortable, q.sex, q.age,
        q.quantile_scheme,
        any_value(fit.quantiles) as quantiles,
        any_value(fit.sii) as slope,
        any_value(fit.rii) as fitted_rii,
        max(q.value) filter (where q.quantile = 1) as most_deprived_value,
        arg_max(q.value, q.quantile) as least_deprived_value,
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
    group by q.indicator_id, q.period, q.sex, q.age, q.quantile_scheme

),

measures as (

    select
        fitted.*,
        -- SII needs at least 5 quantiles (as phe_sii)
        case when fitted.quantiles >= 5 then fitted.slope end as sii,
        case when fitted.quantiles >= 5 then fitted.fitted_rii end as rii,
        limits.sii_lower,
        limits.sii_upper,
        limits.rii_lower,
        limits.rii_upper,
        case
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

),

with_previous as (

    select
        *,
        lag(period) over series as previous_period,
        lag(sii) over series as previous_sii,
        lag(sii_lower) over series as previous_sii_lower,
        lag(sii_upper) over series as previous_sii_upper
    from measures
    window series as (
        partition by indicator_id, sex, age, quantile_scheme order by period_sortable, period
    )

)

select
    indicator_id::varchar as indicator_id,
    period::varchar as period,
    period_sortable::bigint as period_sortable,
    sex::varchar as sex,
    age::varchar as age,
    quantile_scheme::varchar as quantile_scheme,
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
    previous_period::varchar as previous_period,
    {{ gap_trend('sii', 'sii_lower', 'sii_upper', 'previous_sii', 'previous_sii_lower',
                 'previous_sii_upper') }}::varchar as gap_trend
from with_previous
