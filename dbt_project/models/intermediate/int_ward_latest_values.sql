-- Each ward's latest headline value of every indicator and sex, with its counts: the input
-- of the ward-based marts (proportionate universalism, allocation).

select
    f.indicator_id, f.area_code as ward_code, f.sex, f.period, f.period_sortable,
    f.numerator, f.denominator, f.value
from {{ ref('fct_indicator_values') }} as f
where f.area_type = 'ward' and f.category_type is null and f.value is not null
qualify row_number() over (
    partition by f.indicator_id, f.area_code, f.sex order by f.period_sortable desc, f.period desc
) = 1
