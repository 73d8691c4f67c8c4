{#- Every row satisfies a SQL expression. Fails with the rows where it does not hold.
    Our own generic test (no dbt packages are installed), named without any package's prefix.

        data_tests:
          - expression_is_true:
              arguments:
                expression: "better + similar + worse = total"
-#}
{% test expression_is_true(model, expression) %}
    select * from {{ model }} where not ({{ expression }})
{% endtest %}
