-- Indicator values computed from partner counts (int_local_counts), by OHID's methods
-- (brief, section 6; macros/stats): proportions with Wilson limits, rates with exact Poisson
-- limits below 10 events and Byar's from 10. Values for every geography the catalogue lists:
-- LSOAs, wards, the place, and the place's deprivation quantiles (national IMD deciles and
-- local quintiles; for ward-level data, quintiles of wards).

with

counts as (

    select * from {{ ref('int_local_counts') }}

),

catalogue as (

    select * from {{ ref('stg_reference__indicator_catalogue') }}
    where fingertips_id is null

),

place as (

    select area_code as place_code from {{ ref('stg_place__areas') }}
    where is_place

),

lsoas as (

    select lsoa_code, ward_code, imd_decile, local_imd_quintile
    from {{ ref('int_lsoa_deprivation') }}

),

wards as (

    select ward_code, local_deprivation_quintile from {{ ref('int_ward_deprivation') }}

),

located as (

    -- every count with its ward and deprivation groups
    select
        counts.*,
        coalesce(lsoas.ward_code, case when counts.geography = 'ward' then counts.area_code end)
            as ward_code,
        lsoas.imd_decile,
        case
            when counts.geography = 'lsoa' then lsoas.local_imd_quintile
            else wards.local_deprivation_quintile
        end as local_quintile
    from counts
    left join lsoas on counts.geography = 'lsoa' and counts.area_code = lsoas.lsoa_code
    left join wards on counts.geography = 'ward' and counts.area_code = wards.ward_code

),

in_place as (

    -- every count with the place's code, for the place's own rows
    select located.*, place.place_code
    from located
    cross join place

),

by_area as (

    select
        indicator_id, area_code, 'lsoa' as area_type, period, period_sortable, sex, age,
        category_type, category, is_partial, coverage_months, coverage_note,
        denominator_note,
        numerator, denominator
    from located
    where geography = 'lsoa'

    union all

    select
        indicator_id, ward_code, 'ward' as area_type, period, period_sortable, sex, age,
        category_type, category, is_partial, coverage_months, coverage_note,
        denominator_note,
        sum(numerator) as numerator, sum(denominator) as denominator
    from located
    where ward_code is not null
    group by all

    union all

    select
        indicator_id, place_code, 'local_authority' as area_type, period, period_sortable,
        sex, age, category_type, category, is_partial, coverage_months, coverage_note,
        denominator_note,
        sum(numerator) as numerator, sum(denominator) as denominator
    from in_place
    group by all

    union all

    -- deprivation quantiles of the place: headline counts only
    select
        indicator_id, place_code, 'local_authority' as area_type, period, period_sortable,
        sex, age,
        'Local deprivation quintile' as category_type, local_quintile::varchar as category,
        is_partial, coverage_months, coverage_note, denominator_note,
        sum(numerator) as numerator, sum(denominator) as denominator
    from in_place
    where category_type is null and local_quintile is not null
    group by all

    union all

    select
        indicator_id, place_code, 'local_authority' as area_type, period, period_sortable,
        sex, age,
        'National IMD decile' as category_type, imd_decile::varchar as category,
        is_partial, coverage_months, coverage_note, denominator_note,
        sum(numerator) as numerator, sum(denominator) as denominator
    from in_place
    where category_type is null and imd_decile is not null and geography = 'lsoa'
    group by all

),

wanted as (

    -- only the geographies the catalogue lists for the indicator (quantiles go with the place)
    select by_area.*, catalogue.method, catalogue.multiplier, catalogue.source
    from by_area
    inner join catalogue using (indicator_id)
    where
        list_contains(string_split(catalogue.geography_levels, '|'), by_area.area_type)
        and by_area.denominator > 0

)

select
    indicator_id, area_code, area_type, period, period_sortable, sex, age,
    category_type, category,
    numerator::double as numerator,
    denominator::double as denominator,
    numerator / denominator * multiplier as value,
    case method
        when 'proportion'
            then {{ wilson_lower('numerator', 'denominator', stats_z(0.95)) }} * multiplier
        when 'rate' then {{ poisson_rate_lower('numerator', 0.95) }} / denominator * multiplier
    end as lower_ci_95,
    case method
        when 'proportion'
            then {{ wilson_upper('numerator', 'denominator', stats_z(0.95)) }} * multiplier
        when 'rate' then {{ poisson_rate_upper('numerator', 0.95) }} / denominator * multiplier
    end as upper_ci_95,
    case method
        when 'proportion'
            then {{ wilson_lower('numerator', 'denominator', stats_z(0.998)) }} * multiplier
        when 'rate' then {{ poisson_rate_lower('numerator', 0.998) }} / denominator * multiplier
    end as lower_ci_99_8,
    case method
        when 'proportion'
            then {{ wilson_upper('numerator', 'denominator', stats_z(0.998)) }} * multiplier
        when 'rate' then {{ poisson_rate_upper('numerator', 0.998) }} / denominator * multiplier
    end as upper_ci_99_8,
    null::varchar as compared_to_england,
    -- a rate whose denominator is not of its own period (int_local_counts) says so
    denominator_note::varchar as value_note,
    -- blocks that deliver whole periods by construction (a month, a term) say nothing
    coalesce(is_partial, false) as is_partial,
    coverage_months::integer as coverage_months,
    coverage_note::varchar as coverage_note,
    source
from wanted
