{#-
    Fingertips publishes some fields as display text whose wording varies between area types,
    releases and file generations. These macros map that text onto the small vocabularies the
    warehouse uses, in one place, so every model agrees.
-#}

{#- Area Type as published -> country | region | local_authority | ward | msoa.
    Seen in the wild: `England`, `Country` (older files), `Region`,
    `Counties & UAs (from Apr 2023)`, `Districts & UAs (from Apr 2023)`, `County & UA`,
    `District & UA`, `County`, `UA`, `Ward`, `MSOA`. Anything else is passed through in lower
    case, so the accepted_values test on the staging model names the new text instead of it
    being silently mislabelled. -#}
{% macro fingertips_area_type(column) -%}
    case
        when lower(trim({{ column }})) in ('england', 'country') then 'country'
        when lower(trim({{ column }})) like 'region%' then 'region'
        when regexp_matches(
            lower(trim({{ column }})),
            '^(counties|county|districts|district|ua|uas|unitary)\b'
        ) then 'local_authority'
        when lower(trim({{ column }})) like 'ward%' then 'ward'
        when lower(trim({{ column }})) like 'msoa%' then 'msoa'
        else nullif(lower(trim({{ column }})), '')
    end
{%- endmacro %}

{#- "Compared to ... value or percentiles" -> better | similar | worse | higher | lower |
    not compared. Fingertips adds the confidence level to some texts (`Better 95%`,
    `Worse 99.8%`) and uses `Higher`/`Lower` for indicators with no polarity. Percentile
    texts (`Lowest quintile` ...) and blanks are not a comparison: 'not compared'. -#}
{% macro fingertips_comparison(column) -%}
    case
        when lower(trim({{ column }})) like 'better%' then 'better'
        when lower(trim({{ column }})) like 'worse%' then 'worse'
        when lower(trim({{ column }})) like 'similar%'
            or lower(trim({{ column }})) like 'not different%' then 'similar'
        when regexp_matches(lower(trim({{ column }})), '^higher\b') then 'higher'
        when regexp_matches(lower(trim({{ column }})), '^lower\b') then 'lower'
        else 'not compared'
    end
{%- endmacro %}
