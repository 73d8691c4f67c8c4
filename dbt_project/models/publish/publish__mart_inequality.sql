-- mart_inequality as it may leave the warehouse, in long form: one row per indicator, period,
-- sex, age, quantile scheme and quantile, the quantile's count, population and value taken
-- from publish.fct_indicator_values (suppressed there, suppressed here), beside the scheme's
-- measures (gap, SII, RII, gap trend).
--
-- The measures are computed (in the mart) from unrounded values. They are shown only when no
-- quantile of the scheme is suppressed (primary, complement, denominator, secondary or rate
-- minimum) in that period or the previous one its gap trend compares it with (the previous
-- whole period: a partial period is compared with nothing), since a gap or a slope with the
-- other quantiles' values could reveal a suppressed quantile; otherwise they are NULL and
-- measures_withheld is true. A value withheld under OHID's rules (e.g. life expectancy of a
-- population of 5,000 or less) is NULL with its reason in value_note.

with

inequality as (

    select * exclude (quantile_values) from {{ ref('mart_inequality') }}

),

quantile_cells as (

    select published.*
    from {{ ref('publish__fct_indicator_values') }} as published
    inner join {{ ref('dim_area') }} as areas
        on published.area_code = areas.area_code and areas.is_place
    where published.category_type in (select s.quantile_scheme from inequality as s)

),

with_cells as (

    select
        inequality.*,
        cast(cells.category as integer) as quantile,
        cells.period_start,
        cells.period_end,
        cells.numerator,
        cells.denominator,
        cells.value,
        cells.lower_ci_95,
        cells.upper_ci_95,
        cells.is_suppressed,
        cells.suppression_reason,
        cells.value_note
    from inequality
    inner join quantile_cells as cells
        on
            inequality.indicator_id = cells.indicator_id
            and inequality.period = cells.period
            and inequality.sex = cells.sex
            and inequality.age = cells.age
            and inequality.quantile_scheme = cells.category_type

),

schemes as (

    select
        indicator_id, period, sex, age, quantile_scheme,
        any_value(previous_period) as previous_period,
        bool_or(is_suppressed) as any_suppressed
    from with_cells
    group by all

),

schemes_with_previous as (

    -- withheld when a quantile is suppressed in this period or in the one it is compared with
    select
        s.*,
        coalesce(s.any_suppressed or compared.any_suppressed, s.any_suppressed)
            as measures_withheld
    from schemes as s
    left join schemes as compared
        on
            s.indicator_id = compared.indicator_id
            and s.sex = compared.sex
            and s.age = compared.age
            and s.quantile_scheme = compared.quantile_scheme
            and s.previous_period = compared.period

),

final as (

    select
        c.*,
        s.measures_withheld
    from with_cells as c
    inner join schemes_with_previous as s
        using (indicator_id, period, sex, age, quantile_scheme)

)

select
    cast(indicator_id as varchar) as indicator_id,
    cast(period as varchar) as period,
    cast(period_start as date) as period_start,
    cast(period_end as date) as period_end,
    cast(period_sortable as bigint) as period_sortable,
    cast(sex as varchar) as sex,
    cast(age as varchar) as age,
    cast(quantile_scheme as varchar) as quantile_scheme,
    cast(is_partial as boolean) as is_partial,
    cast(quantiles as integer) as quantiles,
    cast(quantile as integer) as quantile,
    cast(numerator as double) as numerator,
    cast(denominator as double) as denominator,
    cast(value as double) as value,
    cast(lower_ci_95 as double) as lower_ci_95,
    cast(upper_ci_95 as double) as upper_ci_95,
    cast(is_suppressed as boolean) as is_suppressed,
    cast(suppression_reason as varchar) as suppression_reason,
    cast(value_note as varchar) as value_note,
    cast(measures_withheld as boolean) as measures_withheld,
    cast(case when not measures_withheld then most_deprived_value end as double)
        as most_deprived_value,
    cast(case when not measures_withheld then least_deprived_value end as double)
        as least_deprived_value,
    cast(case when not measures_withheld then absolute_gap end as double) as absolute_gap,
    cast(case when not measures_withheld then relative_gap end as double) as relative_gap,
    cast(case when not measures_withheld then sii end as double) as sii,
    cast(case when not measures_withheld then sii_lower end as double) as sii_lower,
    cast(case when not measures_withheld then sii_upper end as double) as sii_upper,
    cast(case when not measures_withheld then rii end as double) as rii,
    cast(case when not measures_withheld then rii_lower end as double) as rii_lower,
    cast(case when not measures_withheld then rii_upper end as double) as rii_upper,
    cast(case
        when measures_withheld then 'withheld: a quantile is suppressed' else sii_note
    end as varchar)
        as sii_note,
    cast(sii_indicator_id as varchar) as sii_indicator_id,
    cast(previous_period as varchar) as previous_period,
    cast(case when not measures_withheld then gap_trend end as varchar) as gap_trend,
    {{ disclosure_rules_version() }}::varchar as disclosure_rules_version,
    cast(source as varchar) as source
from final
