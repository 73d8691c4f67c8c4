{#-
    None of the listed columns may be NULL, checked in one scan of the model: one test per
    model, not one per column. Each dbt test costs a query and ~20 ms of dbt, and as a Dagster
    asset check three events in the run's log (~30 ms more); some 200 columns of the staging
    and intermediate models are checked so. The marts and published tables have enforced
    contracts instead: DuckDB refuses a NULL there as the table is built (a not_null
    constraint), so no test is needed.
    Fails with one row per column holding NULLs: the column's name and how many rows.

        data_tests:
          - not_null_columns:
              arguments:
                columns: [indicator_id, area_code, period]
-#}
{% test not_null_columns(model, columns) %}

    with counted as (

        select
            {%- for column in columns %}
            count(*) filter (where {{ adapter.quote(column) }} is null)
                as {{ adapter.quote(column) }}{{ "," if not loop.last }}
            {%- endfor %}
        from {{ model }}

    )

    select column_name, null_rows
    from (unpivot counted on columns(*) into name column_name value null_rows)
    where null_rows > 0

{% endtest %}
