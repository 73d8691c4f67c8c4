{#-
    Limits of an observed count x for a crude rate, as phe_rate and marmot_assets.methods.rate_ci:
    Byar's approximation for x >= 10, exact Poisson limits below 10.

    The exact limits are chi-square quantiles, lower = chi2.ppf(α/2, 2x)/2 and
    upper = chi2.ppf(1 − α/2, 2x + 2)/2, and DuckDB has no chi-square (or normal) quantile
    function. The 20 values needed (x = 0..9) at the two levels OHID publishes, 95% and 99.8%,
    are therefore constants in the VALUES table below, so no seed or extension is needed.

    The macros return the limit of the COUNT; divide by the denominator and scale for a rate:

        {{ poisson_rate_lower('deaths', 0.95) }} / population * 100000 as lower95

    `confidence` must be the literal 0.95 or 0.998 (compile-time). x NULL or negative gives
    NULL; a non-integer x below 10 gives NULL (the table holds whole counts only; the Python
    rate_ci computes those exactly).
-#}

{#-
    Exact Poisson limits for x = 0..9, computed with SciPy 1.17.1 and pasted:

        from scipy.stats import chi2
        for level, c in (("95", 0.95), ("99.8", 0.998)):
            a = 1 - c
            for x in range(10):
                lo = 0.0 if x == 0 else float(chi2.ppf(a / 2, 2 * x) / 2)   # chi2 with 0 df is 0
                hi = float(chi2.ppf(1 - a / 2, 2 * x + 2) / 2)
                print(f"('{level}', {x}, {lo:.17e}, {hi:.17e}),")

    tests/test_stats_sql.py recomputes them and compares.
-#}
{% macro stats_exact_poisson_table() -%}
    (values
        ('95', 0, 0.00000000000000000e+00, 3.68887945411393536e+00),
        ('95', 1, 2.53178079842898973e-02, 5.57164339093889804e+00),
        ('95', 2, 2.42209278543965068e-01, 7.22468766772395998e+00),
        ('95', 3, 6.18672122895601473e-01, 8.76727306974232334e+00),
        ('95', 4, 1.08986537362632507e+00, 1.02415886754036940e+01),
        ('95', 5, 1.62348639011842111e+00, 1.16683320793226706e+01),
        ('95', 6, 2.20189425349085122e+00, 1.30594740225186854e+01),
        ('95', 7, 2.81436305151986721e+00, 1.44226753617023764e+01),
        ('95', 8, 3.45383217674850229e+00, 1.57631892201933130e+01),
        ('95', 9, 4.11537309737833379e+00, 1.70848034514191660e+01),
        ('99.8', 0, 0.00000000000000000e+00, 6.90775527898213682e+00),
        ('99.8', 1, 1.00050033358353458e-03, 9.23341347645158450e+00),
        ('99.8', 2, 4.54020177694895652e-02, 1.12288722424126615e+01),
        ('99.8', 3, 1.90533377568403273e-01, 1.30622407791880697e+01),
        ('99.8', 4, 4.28552413628422946e-01, 1.47941492225372109e+01),
        ('99.8', 5, 7.39371731917832675e-01, 1.64547452036801047e+01),
        ('99.8', 6, 1.10710466025563958e+00, 1.80616368401990641e+01),
        ('99.8', 7, 1.52033626039880931e+00, 1.96261773953842322e+01),
        ('99.8', 8, 1.97081392174036618e+00, 2.11561981658399816e+01),
        ('99.8', 9, 2.45242440436377507e+00, 2.26573733090629297e+01)
    ) as _pois(_pois_level, _pois_count, _pois_lower, _pois_upper)
{%- endmacro %}


{#- '95' or '99.8': the key of a confidence level in stats_exact_poisson_table. -#}
{% macro stats_poisson_level(confidence) -%}
    {%- set c = confidence | float -%}
    {%- if c == 0.95 -%}95
    {%- elif c == 0.998 -%}99.8
    {%- else -%}
        {{ exceptions.raise_compiler_error("poisson limits: confidence must be 0.95 or 0.998, got " ~ confidence) }}
    {%- endif -%}
{%- endmacro %}


{% macro poisson_rate_lower(x, confidence=0.95) -%}
    (case
        when {{ x }} is null or {{ x }} < 0 then null
        when {{ x }} >= 10 then {{ byars_lower(x, stats_z(confidence)) }}
        else (select _pois._pois_lower from {{ stats_exact_poisson_table() }}
              where _pois._pois_level = '{{ stats_poisson_level(confidence) }}'
                and _pois._pois_count = {{ x }})
    end)
{%- endmacro %}


{% macro poisson_rate_upper(x, confidence=0.95) -%}
    (case
        when {{ x }} is null or {{ x }} < 0 then null
        when {{ x }} >= 10 then {{ byars_upper(x, stats_z(confidence)) }}
        else (select _pois._pois_upper from {{ stats_exact_poisson_table() }}
              where _pois._pois_level = '{{ stats_poisson_level(confidence) }}'
                and _pois._pois_count = {{ x }})
    end)
{%- endmacro %}
