-- mart_principle_scorecard as it leaves the warehouse. Its counts are counts of indicator
-- series (better than England, improving, ...), not of people, so disclosure control does not
-- apply to them; it is built on the place's own headline values only. The system line's one
-- series is a share of contracts, published with its counts under control in
-- publish__mart_system_measures.
select
    scorecard_line,
    principle_id,
    principle_name,
    period_year,
    indicators,
    series,
    better_than_england,
    similar_to_england,
    worse_than_england,
    other_comparison,
    improving,
    worsening,
    no_change_or_not_compared,
    inequality_narrowing,
    inequality_widening,
    inequality_held,
    inequality_not_assessed,
    series_not_counted,
    {{ disclosure_rules_version() }}::varchar as disclosure_rules_version
from {{ ref('mart_principle_scorecard') }}
