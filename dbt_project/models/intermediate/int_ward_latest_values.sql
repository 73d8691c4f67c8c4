-- Each ward's latest headline value of every indicator and sex, with its counts: the input
-- of the ward-based marts (proportionate universalism, allocation). Latest means the latest
-- whole period: a period the data cover only in part (is_partial, e.g. January-March of a
-- calendar year) would compare a few months with a year, so it is never taken.

select
    f.indicator_id, f.area_code as ward_code, f.sex, f.period, f.period_sortable,
    f.numerator, f.denominator, f.value
from {{ ref('fct_indicator_values') }} as f
where
    f.area_type = 'ward' and f.category_type is null and f.value is not null
    and f.is_partial is not true
qualify row_number() over (
    partition by f.indicator_id, f.area_code, f.sex order by f.period_sortable desc, f.period desc
) = 1
