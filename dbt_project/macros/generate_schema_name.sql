{#-
    Use a model's custom schema as-is (`staging`, `intermediate`, `marts`, `reference`), not
    dbt's default `<target schema>_<custom schema>`: the warehouse is one DuckDB file per
    MARMOT_HOME, so there are no per-developer schemas to keep apart, and BI tools and the
    Python code can rely on the plain names.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
