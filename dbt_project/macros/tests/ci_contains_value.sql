{#-
    A confidence interval must contain its value: lower <= value <= upper, checked for each
    (lower, upper) pair where the value and both limits are present (suppressed values and
    indicators without intervals are not failures). Fails with the offending rows.

    Defaults fit fct_indicator_values (95% and 99.8% limits); `tolerance` (default 0) allows
    for published limits rounded more coarsely than their values.

        data_tests:
          - ci_contains_value
-#}
{% test ci_contains_value(
    model,
    value_column='value',
    intervals=[['lower_ci_95', 'upper_ci_95'], ['lower_ci_99_8', 'upper_ci_99_8']],
    tolerance=0
) %}

    {%- for interval in intervals %}
    {%- set lower, upper = interval[0], interval[1] %}

    select
        '{{ lower }}..{{ upper }}' as failing_interval,
        *

    from {{ model }}
    where {{ value_column }} is not null
        and {{ lower }} is not null
        and {{ upper }} is not null
        and not (
            {{ lower }} - {{ tolerance }} <= {{ value_column }}
            and {{ value_column }} <= {{ upper }} + {{ tolerance }}
        )

    {% if not loop.last %}union all by name{% endif %}
    {%- endfor %}

{% endtest %}
