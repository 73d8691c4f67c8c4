{#-
    A published table has its mart's name: the model `publish__fct_indicator_values` (model
    names are unique in a project) is built as `publish.fct_indicator_values`. Every other
    node keeps dbt's default alias (its name, or name_v<version> for a versioned model).
-#}
{% macro generate_alias_name(custom_alias_name=none, node=none) -%}
    {%- if custom_alias_name -%}
        {{ custom_alias_name | trim }}
    {%- elif node.resource_type == 'model' and node.fqn[1:2] == ['publish']
        and node.name.startswith('publish__') -%}
        {{ node.name[9:] }}
    {%- elif node.version -%}
        {{ return(node.name ~ "_v" ~ (node.version | replace(".", "_"))) }}
    {%- else -%}
        {{ node.name }}
    {%- endif -%}
{%- endmacro %}
