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

{#- ------------------------------------------------------------------------------------------
    The publish layer (models/publish/) applies the full rule set, version
    `disclosure_rules.version`, to the rows computed here from partner data (small areas, the
    deprivation quantiles, and the place's own totals): values published by a publisher in
    `disclosure_rules.publisher_sources` (OHID Fingertips) are passed through as published.
--------------------------------------------------------------------------------------------- -#}

{#- The rule set's version as a SQL literal, for every published row. -#}
{% macro disclosure_rules_version() -%}
    '{{ disclosure_rules().version }}'
{%- endmacro %}

{#- True for a count the rule suppresses (1..7); 0 and NULL are not. -#}
{% macro disclosure_in_suppressed_range(count) -%}
    {%- set rules = disclosure_rules() -%}
    coalesce({{ count }} between {{ rules.suppress_min }} and {{ rules.suppress_max }}, false)
{%- endmacro %}

{#- A count rounded to the rule's base (0 stays 0); suppression is decided separately. -#}
{% macro disclosure_round(count) -%}
    {%- set rules = disclosure_rules() -%}
    (round({{ count }} / {{ rules.round_to }}) * {{ rules.round_to }})
{%- endmacro %}

{#- True when a value computed by `method` on `events` events may not be shown (ONS: no crude
    rate on fewer than 3 events, no standardised rate on fewer than 10). -#}
{% macro disclosure_rate_withheld(method, events) -%}
    {%- set rules = disclosure_rules() -%}
    coalesce(
        ({{ method }} in ('{{ rules.crude_rate_methods | join("', '") }}')
            and {{ events }} < {{ rules.crude_rate_min_events }})
        or ({{ method }} in ('{{ rules.standardised_rate_methods | join("', '") }}')
            and {{ events }} < {{ rules.standardised_rate_min_events }}),
        false
    )
{%- endmacro %}

{#- The primary reason a computed cell is suppressed, or NULL (first match wins):
    denominator 1..7, numerator 1..7 (primary), denominator - numerator 1..7 before or after
    rounding (complement),
    a rate on too few events (rate_minimum). -#}
{% macro disclosure_primary_reason(numerator, denominator, method) -%}
    case
        when {{ disclosure_in_suppressed_range(denominator) }} then 'denominator'
        when {{ disclosure_in_suppressed_range(numerator) }} then 'primary'
        when {{ disclosure_in_suppressed_range(denominator ~ ' - ' ~ numerator) }}
            then 'complement'
        {#- the published (rounded) complement too: 98 of 106 would show as 100 of 105 #}
        when {{ disclosure_in_suppressed_range(
            disclosure_round(denominator) ~ ' - ' ~ disclosure_round(numerator)) }}
            then 'complement'
        when {{ disclosure_rate_withheld(method, numerator) }} then 'rate_minimum'
    end
{%- endmacro %}

{#- The first and last day of a period from its label and the catalogue's period kind:
    calendar_year "2023"; financial_year "2023/24" (April to March); academic_year
    "2023/24" (September to August); quarter "2024-25 Q1" (financial quarters, Q1 = April to
    June); month "2024-03"; term "Autumn 2023" (September to December), "Spring 2024"
    (January to March), "Summer 2024" (April to August); three_calendar_years "2017 - 19"
    (January 2017 to December 2019); five_calendar_years "2020 - 24" (January 2020 to
    December 2024). NULL for a label that does not fit its kind. -#}
{% macro period_start(period, period_kind) -%}
    case {{ period_kind }}
        when 'calendar_year'
            then make_date(try_cast({{ period }} as integer), 1, 1)
        when 'three_calendar_years'
            then make_date(try_cast(left({{ period }}, 4) as integer), 1, 1)
        when 'five_calendar_years'
            then make_date(try_cast(left({{ period }}, 4) as integer), 1, 1)
        when 'financial_year'
            then make_date(try_cast(left({{ period }}, 4) as integer), 4, 1)
        when 'academic_year'
            then make_date(try_cast(left({{ period }}, 4) as integer), 9, 1)
        when 'quarter'
            then (
                make_date(try_cast(left({{ period }}, 4) as integer), 4, 1)
                + to_months(3 * (try_cast(right({{ period }}, 1) as integer) - 1))
            )::date
        when 'month'
            then try_cast({{ period }} || '-01' as date)
        when 'term'
            then make_date(
                try_cast(right({{ period }}, 4) as integer),
                case split_part({{ period }}, ' ', 1)
                    when 'Autumn' then 9 when 'Spring' then 1 when 'Summer' then 4
                end,
                1
            )
    end
{%- endmacro %}

{% macro period_end(period, period_kind) -%}
    (
        case {{ period_kind }}
            when 'calendar_year' then {{ period_start(period, period_kind) }} + interval 1 year
            when 'three_calendar_years'
                then {{ period_start(period, period_kind) }} + interval 3 year
            when 'five_calendar_years'
                then {{ period_start(period, period_kind) }} + interval 5 year
            when 'financial_year' then {{ period_start(period, period_kind) }} + interval 1 year
            when 'academic_year' then {{ period_start(period, period_kind) }} + interval 1 year
            when 'quarter' then {{ period_start(period, period_kind) }} + interval 3 month
            when 'month' then {{ period_start(period, period_kind) }} + interval 1 month
            when 'term'
                then {{ period_start(period, period_kind) }} + case split_part({{ period }}, ' ', 1)
                    when 'Autumn' then interval 4 month
                    when 'Spring' then interval 3 month
                    when 'Summer' then interval 5 month
                end
        end - interval 1 day
    )::date
{%- endmacro %}

{#- The reasons that hide a cell's count (a rate_minimum cell shows its count). -#}
{% macro disclosure_hiding_reasons() -%}
    ('denominator', 'primary', 'complement', 'secondary')
{%- endmacro %}

{#- One pass of secondary suppression over `relation` (a CTE with `suppression_reason`,
    `numerator` and one column per sibling group in `groups`, NULL where the row is in no
    such group): in every group with exactly one hidden cell, the visible sibling with the
    smallest count (non-zero counts first, then `tie_break`) becomes 'secondary'. Repeat the
    pass for cells that belong to several groups. -#}
{% macro disclosure_secondary_pass(relation, groups, tie_break) -%}
    {%- set hiding = disclosure_hiding_reasons() -%}
    select
        ranked.* exclude (
            suppression_reason,
            {%- for g in groups %} hidden_in_{{ g }}, rank_in_{{ g }}{{ "," if not loop.last }}
            {%- endfor %}
        ),
        case
            when ranked.suppression_reason in {{ hiding }} then ranked.suppression_reason
            when
                {%- for g in groups %}
                (ranked.{{ g }} is not null and ranked.hidden_in_{{ g }} = 1
                    and ranked.rank_in_{{ g }} = 1){{ " or" if not loop.last }}
                {%- endfor %}
                then 'secondary'
            else ranked.suppression_reason
        end as suppression_reason
    from (
        select
            *,
            {%- for g in groups %}
            sum(case when suppression_reason in {{ hiding }} then 1 else 0 end)
                over (partition by {{ g }}) as hidden_in_{{ g }},
            row_number() over (
                partition by {{ g }}
                order by
                    coalesce(suppression_reason in {{ hiding }}, false),
                    numerator is null,
                    numerator = 0,
                    numerator,
                    {{ tie_break }}
            ) as rank_in_{{ g }}{{ "," if not loop.last }}
            {%- endfor %}
        from {{ relation }}
    ) as ranked
{%- endmacro %}

{#- The rows of `relations` (published tables) that break the rule set, for a singular test:
    in every count-like column (numerator, denominator, or ending _numerator / _denominator)
    of the rows the rules apply to (a `disclosure_applied` column where there is one, else
    rows whose `source` is not a publisher's, else every row): a count of 1-7, a count not a
    multiple of the rounding base, a complement (denominator - numerator of the same prefix)
    of 1-7. Columns are read from the built tables, so a count column added later is checked.
    Returns published_table, count_column, broken_rule, published_count. -#}
{% macro disclosure_violations(relations) -%}
    {%- set rules = disclosure_rules() -%}
    {%- set publishers = "('" ~ rules.publisher_sources | join("', '") ~ "')" -%}
    {%- set range = rules.suppress_min ~ ' and ' ~ rules.suppress_max -%}
    {%- set checks = [] -%}
    {%- if execute -%}
        {%- for relation in relations -%}
            {%- set names = adapter.get_columns_in_relation(relation) | map(attribute='name')
                | map('lower') | list -%}
            {%- if 'disclosure_applied' in names -%}
                {%- set ours = 'disclosure_applied' -%}
            {%- elif 'source' in names -%}
                {%- set ours = 'coalesce(source not in ' ~ publishers ~ ', true)' -%}
            {%- else -%}
                {%- set ours = 'true' -%}
            {%- endif -%}
            {%- for name in names -%}
                {%- if name in ['numerator', 'denominator'] or name.endswith('_numerator')
                    or name.endswith('_denominator') -%}
                    {%- do checks.append([relation, name, ours, 'count of 1-7', name,
                        name ~ ' between ' ~ range]) -%}
                    {%- do checks.append([relation, name, ours,
                        'not a multiple of ' ~ rules.round_to, name,
                        name ~ ' % ' ~ rules.round_to ~ ' <> 0']) -%}
                {%- endif -%}
                {%- if name == 'denominator' or name.endswith('_denominator') -%}
                    {%- set numerator = name[:-11] ~ 'numerator' -%}
                    {%- if numerator in names -%}
                        {%- do checks.append([relation, name ~ ' - ' ~ numerator, ours,
                            'complement of 1-7', name ~ ' - ' ~ numerator,
                            name ~ ' - ' ~ numerator ~ ' between ' ~ range]) -%}
                    {%- endif -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    {%- for c in checks %}
    select
        '{{ c[0].identifier }}' as published_table,
        '{{ c[1] }}' as count_column,
        '{{ c[3] }}' as broken_rule,
        ({{ c[4] }})::double as published_count
    from {{ c[0] }}
    where {{ c[2] }} and {{ c[5] }}
    union all
    {%- endfor %}
    select
        null::varchar as published_table,
        null::varchar as count_column,
        null::varchar as broken_rule,
        null::double as published_count
    where false
{%- endmacro %}
