{#- How much of a period the delivered data covers, in words: "April-December 2023 (9 of 12
    months)", from the first and last month delivered (dates), the number of months delivered
    and the months the period spans. The range names the year once when both ends share it. -#}
{% macro coverage_note(first_month, last_month, months, expected) -%}
    (
        case
            when {{ first_month }} = {{ last_month }} then ''
            when year({{ first_month }}) = year({{ last_month }})
                then strftime({{ first_month }}, '%B') || '-'
            else strftime({{ first_month }}, '%B %Y') || '-'
        end
        || strftime({{ last_month }}, '%B %Y')
        || ' (' || {{ months }} || ' of ' || {{ expected }} || ' months)'
    )
{%- endmacro %}

{#- The three coverage columns of a count: is_partial (fewer months delivered than the period
    spans), coverage_months, and coverage_note on partial periods only. -#}
{% macro coverage_columns(months, first_month, last_month, expected) -%}
    {{ months }} < {{ expected }} as is_partial,
    {{ months }} as coverage_months,
    case
        when {{ months }} < {{ expected }}
            then {{ coverage_note(first_month, last_month, months, expected) }}
    end as coverage_note
{%- endmacro %}
