{#-
    Did the inequality gap narrow, widen or hold since the previous period? Judged on the
    intervals, not on the point values alone: the gap changed only when the two periods' 95%
    intervals of the SII do not overlap; then it narrowed if the SII moved towards zero.

    Returns narrowed | widened | held | not compared
-#}
{% macro gap_trend(sii, lower, upper, previous_sii, previous_lower, previous_upper) -%}
    case
        when {{ sii }} is null or {{ previous_sii }} is null
            or {{ lower }} is null or {{ upper }} is null
            or {{ previous_lower }} is null or {{ previous_upper }} is null
            or isnan({{ lower }}) or isnan({{ previous_lower }})
            then 'not compared'
        when {{ lower }} > {{ previous_upper }} or {{ upper }} < {{ previous_lower }} then
            case when abs({{ sii }}) < abs({{ previous_sii }}) then 'narrowed' else 'widened' end
        else 'held'
    end
{%- endmacro %}
