{#-
    Rows must be unique over a combination of columns (our own replacement for
    dbt_utils.unique_combination_of_columns: no dbt packages are installed).
    NULLs are treated as equal, as GROUP BY does: two headline rows (category NULL) for the
    same indicator, area, period, sex and age are duplicates.
    Fails with one row per duplicated combination and its count.

        data_tests:
          - unique_combination:
              arguments:
                combination_of_columns: [indicator_id, area_code, period]
-#}
{% test unique_combination(model, combination_of_columns) %}

    {%- set columns_csv = combination_of_columns | join(', ') %}

    select
        {{ columns_csv }},
        count(*) as n_records

    from {{ model }}
    group by {{ columns_csv }}
    having count(*) > 1

{% endtest %}
