{#-
    Significance of an area's value against a comparator's value, as Fingertips colours it
    (brief, section 6): the area differs when the comparator lies outside the area's confidence
    interval; polarity turns "higher"/"lower" into "better"/"worse". 'not compared' when the
    area has no interval or there is no comparator value.

    Returns one of better | similar | worse | higher | lower | not compared
    (higher/lower only for indicators whose polarity is neither higher_is_better nor
    lower_is_better).
-#}
{% macro compare_to_comparator(lower_ci, upper_ci, comparator_value, polarity) -%}
    case
        when {{ lower_ci }} is null or {{ upper_ci }} is null or {{ comparator_value }} is null
            then 'not compared'
        -- comparator below the area's interval: the area is significantly higher
        when {{ comparator_value }} < {{ lower_ci }} then
            case {{ polarity }}
                when 'higher_is_better' then 'better'
                when 'lower_is_better' then 'worse'
                else 'higher'
            end
        -- comparator above the area's interval: the area is significantly lower
        when {{ comparator_value }} > {{ upper_ci }} then
            case {{ polarity }}
                when 'higher_is_better' then 'worse'
                when 'lower_is_better' then 'better'
                else 'lower'
            end
        else 'similar'
    end
{%- endmacro %}
