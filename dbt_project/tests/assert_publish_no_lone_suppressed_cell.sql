-- Secondary suppression holds in publish.fct_indicator_values: no group of sibling cells
-- computed here (the wards or LSOAs of the place, the LSOAs of a ward, the categories of a
-- breakdown in one area; each within one indicator, period, sex and age) has exactly one cell
-- with a hidden count, unless the group has only that cell. Fails with the groups.

with

cells as (

    select
        *,
        disclosure_applied
        and suppression_reason in ('denominator', 'primary', 'complement', 'secondary')
            as count_hidden
    from {{ ref('publish__fct_indicator_values') }}
    where disclosure_applied

),

grouped as (

    select
        'areas' as sibling_group,
        concat_ws(
            '|', indicator_id, period, sex, age, area_type,
            coalesce(category_type, ''), coalesce(category, '')
        ) as group_key,
        count_hidden
    from cells
    where area_type in ('ward', 'lsoa')

    union all

    select
        'lsoa_in_ward' as sibling_group,
        concat_ws(
            '|', indicator_id, period, sex, age, parent_area_code,
            coalesce(category_type, ''), coalesce(category, '')
        ) as group_key,
        count_hidden
    from cells
    where area_type = 'lsoa'

    union all

    select
        'categories' as sibling_group,
        concat_ws('|', indicator_id, period, sex, age, area_code, category_type) as group_key,
        count_hidden
    from cells
    where category_type is not null

)

select
    sibling_group,
    group_key,
    count(*) as cells,
    count(*) filter (where count_hidden) as hidden_cells
from grouped
group by sibling_group, group_key
having count(*) filter (where count_hidden) = 1 and count(*) > 1
