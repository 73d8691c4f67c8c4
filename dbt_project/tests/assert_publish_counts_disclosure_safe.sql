-- Every table of schema publish obeys the disclosure rule set (var disclosure_rules) in every
-- count-like column (numerator, denominator, or ending _numerator / _denominator) of the rows
-- disclosure control applies to (publishers' rows, shown as published, are left out): no
-- count of 1-7, no denominator of 1-7, no complement of 1-7, every count a multiple of 5.
-- The columns are read from the built tables (macros/disclosure.sql, disclosure_violations).
-- Fails with the table, the column, the broken rule and the count.
-- (A check of publish__fct_indicator_values in Dagster, the table every other one draws on.)
{{ config(meta={'dagster': {'ref': {'name': 'publish__fct_indicator_values'}}}) }}

{{ disclosure_violations([
    ref('publish__fct_indicator_values'),
    ref('publish__dim_area'),
    ref('publish__dim_indicator'),
    ref('publish__dim_principle'),
    ref('publish__mart_inequality'),
    ref('publish__mart_principle_scorecard'),
    ref('publish__mart_ward_profile'),
    ref('publish__mart_proportionate_universalism'),
    ref('publish__mart_allocation'),
    ref('publish__mart_stories'),
    ref('publish__mart_evidence'),
]) }}
