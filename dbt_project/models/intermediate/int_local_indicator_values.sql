-- Indicator values computed from partner counts (int_local_counts), by OHID's methods
-- (brief, section 6; macros/stats): proportions with Wilson limits, rates with exact Poisson
-- limits below 10 events and Byar's from 10. Values for every geography the catalogue lists:
-- LSOAs, wards, the place, and the place's deprivation quantiles (national IMD deciles and
-- local quintiles; for ward-level data, quintiles of wards).
--
-- A ward of the place with no count in a period its indicator has for other wards gets a row
-- with no value and the reason in value_note, so a release shows the gap and never drops the
-- ward. Where the partner's return has one row per ward and period (each_ward_reported), the
-- ward's data is missing (a row quarantined at the door, or not sent): the place's totals and
-- quantiles of that period would be understated, so they are withheld too, with the reason,
-- until the partner sends the period again. One partner's short return then never stops a
-- release (publish/audit.py: every ward and period present, every missing value explained).

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

ward_series as (

    -- each headline series of a ward-level count, period by period, with what its wards share
    select
        indicator_id, period, period_sortable, sex, age,
        any_value(is_partial) as is_partial,
        any_value(coverage_months) as coverage_months,
        any_value(coverage_note) as coverage_note,
        coalesce(bool_or(each_ward_reported), false) as each_ward_reported
    from located
    where ward_code is not null and category_type is null
    group by indicator_id, period, period_sortable, sex, age

),

place_size as (

    -- the place's wards (dim_area's: the wards of its LSOAs)
    select count(*) as wards_in_place from wards

),

counted_wards as (

    select indicator_id, period, sex, age, ward_code from located
    where category_type is null

),

ward_gaps as (

    -- the place's wards with no count in a period their indicator has for other wards
    select series.*, place_wards.ward_code
    from ward_series as series
    cross join wards as place_wards
    anti join counted_wards as counted
        on
            series.indicator_id = counted.indicator_id
            and series.period = counted.period
            and series.sex = counted.sex
            and series.age = counted.age
            and place_wards.ward_code = counted.ward_code

),

incomplete_periods as (

    -- periods of a return that reports every ward, with wards missing
    select
        gaps.indicator_id, gaps.period, gaps.sex, gaps.age, count(*) as wards_missing,
        any_value(place_size.wards_in_place) as wards_in_place
    from ward_gaps as gaps
    cross join place_size
    where gaps.each_ward_reported
    group by gaps.indicator_id, gaps.period, gaps.sex, gaps.age

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
        numerator, denominator, false as is_gap, null as each_ward_reported
    from located
    where geography = 'lsoa'

    union all

    select
        indicator_id, ward_code, 'ward' as area_type, period, period_sortable, sex, age,
        category_type, category, is_partial, coverage_months, coverage_note,
        denominator_note,
        sum(numerator) as numerator, sum(denominator) as denominator, false as is_gap,
        each_ward_reported
    from located
    where ward_code is not null
    group by all

    union all

    -- the gaps: a ward row with no count (its value and reason follow below)
    select
        indicator_id, ward_code, 'ward' as area_type, period, period_sortable, sex, age,
        null as category_type, null as category, is_partial, coverage_months, coverage_note,
        null as denominator_note,
        null as numerator, null as denominator, true as is_gap, each_ward_reported
    from ward_gaps

    union all

    select
        indicator_id, place_code, 'local_authority' as area_type, period, period_sortable,
        sex, age, category_type, category, is_partial, coverage_months, coverage_note,
        denominator_note,
        sum(numerator) as numerator, sum(denominator) as denominator, false as is_gap,
        null as each_ward_reported
    from in_place
    group by all

    union all

    -- deprivation quantiles of the place: headline counts only
    select
        indicator_id, place_code, 'local_authority' as area_type, period, period_sortable,
        sex, age,
        'Local deprivation quintile' as category_type, local_quintile::varchar as category,
        is_partial, coverage_months, coverage_note, denominator_note,
        sum(numerator) as numerator, sum(denominator) as denominator, false as is_gap,
        null as each_ward_reported
    from in_place
    where category_type is null and local_quintile is not null
    group by all

    union all

    select
        indicator_id, place_code, 'local_authority' as area_type, period, period_sortable,
        sex, age,
        'National IMD decile' as category_type, imd_decile::varchar as category,
        is_partial, coverage_months, coverage_note, denominator_note,
        sum(numerator) as numerator, sum(denominator) as denominator, false as is_gap,
        null as each_ward_reported
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
        and (by_area.denominator > 0 or by_area.is_gap)

),

explained as (

    -- gaps and withheld totals lose their counts, and say why
    select
        wanted.* exclude (numerator, denominator),
        case
            when wanted.is_gap and wanted.each_ward_reported
                then
                    'No value: the partner''s return for this period has no accepted row for '
                    || 'this ward (a row quarantined at the door, or not sent); it appears '
                    || 'when the partner sends the period again'
            when wanted.is_gap
                then 'No value: the partner''s records for this period count none in this ward'
            when incomplete.indicator_id is not null
                then
                    'Withheld: the partner''s return for this period lacks '
                    || incomplete.wards_missing || ' of ' || incomplete.wards_in_place
                    || ' wards, so a total over the others would understate the place; it '
                    || 'appears when the partner sends the period again'
        end as gap_note,
        case when incomplete.indicator_id is null then wanted.numerator end as numerator,
        case when incomplete.indicator_id is null then wanted.denominator end as denominator
    from wanted
    left join incomplete_periods as incomplete
        on
            wanted.area_type = 'local_authority'
            and wanted.indicator_id = incomplete.indicator_id
            and wanted.period = incomplete.period
            and wanted.sex = incomplete.sex
            and wanted.age = incomplete.age

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
    -- a gap or a withheld total says why; a rate whose denominator is not of its own period
    -- (int_local_counts) says so
    coalesce(gap_note, denominator_note)::varchar as value_note,
    -- blocks that deliver whole periods by construction (a month, a term) say nothing
    coalesce(is_partial, false) as is_partial,
    coverage_months::integer as coverage_months,
    coverage_note::varchar as coverage_note,
    source
from explained
