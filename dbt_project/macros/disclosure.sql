{#-
    Disclosure control: the one versioned place for the rule set (brief, section 7).

    The rule is NHS England's for HES small-area tables (since 2018): 0 stays 0; counts 1 to 7
    are suppressed; other counts are rounded to the nearest 5 when published; rates are
    computed from unrounded counts but not shown where the count is suppressed. It applies to
    small areas (wards, LSOAs, MSOAs) and deprivation quantiles, not to the place or its
    comparators. Partners may agree another rule: change `disclosure_rules` in
    dbt_project.yml (and its version) and every model follows.
-#}
{% macro disclosure_rules() -%}
    {{ return(var('disclosure_rules')) }}
{%- endmacro %}

{% macro is_small_area(area_type, category_type) -%}
    ({{ area_type }} in ('ward', 'lsoa', 'msoa')
     or {{ category_type }} in {{ "('" ~ var('deprivation_quantile_schemes') | join("', '") ~ "')" }})
{%- endmacro %}

{#- True when the row must not be shown in a published table: the publisher suppressed it
    (no value, with a note), or it is a small-area count within the suppressed range. -#}
{% macro disclosure_suppressed(numerator, area_type, category_type, value, value_note) -%}
    {%- set rules = disclosure_rules() -%}
    coalesce(
        ({{ value }} is null and {{ value_note }} is not null)
        or (
            {{ is_small_area(area_type, category_type) }}
            and {{ numerator }} between {{ rules.suppress_min }} and {{ rules.suppress_max }}
        ),
        false
    )
{%- endmacro %}

{#- A count as it may be published: suppressed counts NULL, others rounded to the rule's base. -#}
{% macro disclosure_count(count) -%}
    {%- set rules = disclosure_rules() -%}
    case
        when {{ count }} = 0 then 0
        when {{ count }} between {{ rules.suppress_min }} and {{ rules.suppress_max }} then null
        else round({{ count }} / {{ rules.round_to }}) * {{ rules.round_to }}
    end
{%- endmacro %}
