{#-
    The latest delivery of each key: partners re-send a period to revise it, and the rows of
    the latest file received win (ties within a file: the later row). Every partner staging
    model keeps its rows this way.

        latest as ( {{ latest_delivery('source', ['ward_code', 'quarter']) }} )
-#}
{% macro latest_delivery(relation, key) -%}
    select *
    from {{ relation }}
    qualify row_number() over (
        partition by {{ key | join(', ') }} order by _received_at desc, _row_number desc
    ) = 1
{%- endmacro %}
