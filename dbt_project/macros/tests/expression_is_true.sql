{#- Every row satisfies a SQL expression (our own dbt_utils.expression_is_true: no dbt
    packages are installed). Fails with the rows where it does not hold. -#}
{% test dbt_utils_expression_is_true(model, expression) %}
    select * from {{ model }} where not ({{ expression }})
{% endtest %}
