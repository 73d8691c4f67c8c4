{#-
    Direction of travel since the previous period, judged on the interval, not on the point
    values alone: the change counts when the previous period's value lies outside this
    period's 95% interval. Polarity turns up/down into improving/worsening; indicators with
    no judgement report increasing/decreasing.

    Returns improving | worsening | increasing | decreasing | no significant change |
    not compared
-#}
{% macro direction_of_travel(lower_ci, upper_ci, previous_value, polarity) -%}
    case
        when {{ previous_value }} is null or {{ lower_ci }} is null or {{ upper_ci }} is null
            then 'not compared'
        when {{ previous_value }} < {{ lower_ci }} then
            case {{ polarity }}
                when 'higher_is_better' then 'improving'
                when 'lower_is_better' then 'worsening'
                else 'increasing'
            end
        when {{ previous_value }} > {{ upper_ci }} then
            case {{ polarity }}
                when 'higher_is_better' then 'worsening'
                when 'lower_is_better' then 'improving'
                else 'decreasing'
            end
        else 'no significant change'
    end
{%- endmacro %}
