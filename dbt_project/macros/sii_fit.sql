{#-
    The slope index of inequality's closed form (brief, section 6), as a select over a relation
    with one row per group and quantile: quantiles ordered from most (1) to least deprived;
    population share a; relative rank b = cumulative share - a/2; the weighted least-squares
    line of value on b with weights a (the same as regressing y.sqrt(a) on [sqrt(a), b.sqrt(a)]
    without intercept). Returns one row per group with `sii` (the slope: least minus most
    deprived), `intercept`, `rii` = (intercept + sii) / intercept, and `quantiles`.

        {{ sii_fit('my_cte', ['indicator_id', 'period']) }}
-#}
{% macro sii_fit(relation, group_by, quantile='quantile', value='value', population='population') -%}
    {%- set grp = group_by | join(', ') -%}
    select
        {{ grp }},
        count(*) as quantiles,
        slope as sii,
        mean_value - slope * mean_rank as intercept,
        (mean_value - slope * mean_rank + slope) / nullif(mean_value - slope * mean_rank, 0) as rii
    from (
        select
            *,
            sum(share * (rank_mid - mean_rank) * ({{ value }} - mean_value)) over g
                / nullif(sum(share * (rank_mid - mean_rank) * (rank_mid - mean_rank)) over g, 0)
                as slope
        from (
            select
                *,
                sum(share * rank_mid) over g as mean_rank,
                sum(share * {{ value }}) over g as mean_value
            from (
                select
                    *,
                    {{ population }} / sum({{ population }}) over g as share,
                    (sum({{ population }}) over (partition by {{ grp }} order by {{ quantile }}
                        rows between unbounded preceding and current row)
                     - {{ population }} / 2) / sum({{ population }}) over g as rank_mid
                from {{ relation }}
                window g as (partition by {{ grp }})
            )
            window g as (partition by {{ grp }})
        )
        window g as (partition by {{ grp }})
    )
    group by {{ grp }}, slope, mean_value, mean_rank
{%- endmacro %}
