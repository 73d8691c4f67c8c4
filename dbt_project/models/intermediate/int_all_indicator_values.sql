-- Every indicator value, published or computed here, in one shape. Fingertips rows are
-- published values; local rows are computed from partner data (int_local_indicator_values,
-- and int_life_expectancy_local, int_preventable_mortality_local from death registrations).

select
    indicator_id, area_code, area_type, period, period_sortable, sex, age, category_type,
    category, numerator, denominator, value, lower_ci_95, upper_ci_95, lower_ci_99_8,
    upper_ci_99_8, compared_to_england, value_note, 'OHID Fingertips' as source
from {{ ref('int_indicator_values') }}

{#- The models computing values from partner data, all in the same shape (see
    marmot_assets/transform/indicator_rows.py for the Python ones). -#}
{%- set local_models = [
    'int_local_indicator_values',
    'int_life_expectancy_local',
    'int_preventable_mortality_local',
] %}
{%- for model in local_models %}

    union all by name

    select
        indicator_id, area_code, area_type, period, period_sortable, sex, age, category_type,
        category, numerator, denominator, value, lower_ci_95, upper_ci_95, lower_ci_99_8,
        upper_ci_99_8, compared_to_england, value_note, source,
        is_partial, coverage_months, coverage_note
    from {{ ref(model) }}
{%- endfor %}
