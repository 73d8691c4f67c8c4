{#-
    Closed-form confidence limits (brief, section 6), as DuckDB SQL expressions.

    The same methods as the Python package `marmot_assets.methods` (wilson_ci, byars_ci), which
    follows OHID's PHEindicatormethods; tests/test_stats_sql.py checks that the two agree to 1e-9.
    Each macro returns an expression; pass column names or SQL expressions as strings:

        select
            {{ wilson_lower('numerator', 'denominator', stats_z(0.95)) }} as lower95,
            {{ byars_upper('deaths', stats_z(0.998)) }}                     as count_upper998
        from ...

    Arguments are pasted into the expression more than once: pass columns or cheap expressions.
    Invalid input gives NULL rather than an error (the Python functions raise ValueError):
    a negative count, a denominator <= 0, a numerator above its denominator.
-#}

{#-
    z value for a two-sided confidence level: norm.ppf(confidence + (1 - confidence) / 2), i.e.
    R's qnorm as PHEindicatormethods uses it. DuckDB has no normal quantile function, so only the
    two levels OHID publishes are known here (compile-time literal; anything else is an error).
    NB: the 99.8% z is 3.090232 (qnorm(0.999)); 2.967738 is qnorm(0.9985), a 99.7% interval.
-#}
{% macro stats_z(confidence=0.95) -%}
    {%- set c = confidence | float -%}
    {%- if c == 0.95 -%}
        cast(1.959963984540054 as double)
    {%- elif c == 0.998 -%}
        cast(3.090232306167813 as double)
    {%- else -%}
        {{ exceptions.raise_compiler_error("stats_z: confidence must be 0.95 or 0.998, got " ~ confidence) }}
    {%- endif -%}
{%- endmacro %}


{#- Wilson score interval of the proportion x/n, as a fraction 0..1 (phe_proportion):
    (2x + z² ∓ z·sqrt(z² + 4x(1 − x/n))) / (2(n + z²)); exactly 0 at x = 0, exactly 1 at x = n. -#}
{% macro wilson_lower(x, n, z) -%}
    (case
        when {{ x }} < 0 or {{ n }} <= 0 or {{ x }} > {{ n }} then null
        when {{ x }} = 0 then cast(0 as double)
        else (2 * cast({{ x }} as double) + ({{ z }}) * ({{ z }})
              - ({{ z }}) * sqrt(({{ z }}) * ({{ z }})
                                 + 4 * cast({{ x }} as double)
                                   * (1 - cast({{ x }} as double) / cast({{ n }} as double))))
             / 2 / (cast({{ n }} as double) + ({{ z }}) * ({{ z }}))
    end)
{%- endmacro %}


{% macro wilson_upper(x, n, z) -%}
    (case
        when {{ x }} < 0 or {{ n }} <= 0 or {{ x }} > {{ n }} then null
        when {{ x }} = {{ n }} then cast(1 as double)
        else (2 * cast({{ x }} as double) + ({{ z }}) * ({{ z }})
              + ({{ z }}) * sqrt(({{ z }}) * ({{ z }})
                                 + 4 * cast({{ x }} as double)
                                   * (1 - cast({{ x }} as double) / cast({{ n }} as double))))
             / 2 / (cast({{ n }} as double) + ({{ z }}) * ({{ z }}))
    end)
{%- endmacro %}


{#- Byar's approximate limits of a count x (PHEindicatormethods byars_lower/byars_upper), at
    every x: lower = x(1 − 1/(9x) − z/(3√x))³, upper = (x+1)(1 − 1/(9(x+1)) + z/(3√(x+1)))³.
    The lower limit is NULL at x = 0 and where the formula goes negative (PHEindicatormethods
    gives NA). For published rates use poisson_rate_lower/upper, exact below 10 events. -#}
{% macro byars_lower(x, z) -%}
    (case
        when {{ x }} > 0
         and 1 - 1 / (9 * cast({{ x }} as double)) - ({{ z }}) / (3 * sqrt(cast({{ x }} as double))) >= 0
        then cast({{ x }} as double)
             * power(1 - 1 / (9 * cast({{ x }} as double))
                       - ({{ z }}) / (3 * sqrt(cast({{ x }} as double))), 3)
    end)
{%- endmacro %}


{% macro byars_upper(x, z) -%}
    (case
        when {{ x }} >= 0
        then (cast({{ x }} as double) + 1)
             * power(1 - 1 / (9 * (cast({{ x }} as double) + 1))
                       + ({{ z }}) / (3 * sqrt(cast({{ x }} as double) + 1)), 3)
    end)
{%- endmacro %}
