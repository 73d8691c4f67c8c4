-- Every area the warehouse reports on: England and the region (comparators), the place, its
-- wards and its LSOAs, as one hierarchy through parent_area_code.

with

place_areas as (

    select * from {{ ref('stg_place__areas') }}

),

lsoas as (

    select * from {{ ref('int_lsoa_deprivation') }}

),

wards as (

    select * from {{ ref('int_ward_deprivation') }}

),

country_code as (

    select min(area_code) as area_code from place_areas
    where area_type = 'country'

),

region_code as (

    select min(area_code) as area_code from place_areas
    where area_type = 'region'

),

configured as (

    -- The place file names no parents, so derive the chain it implies: region -> country,
    -- the place -> its region (or the country when no region is configured). Any other
    -- local authority comparator's region is not known here, so it gets none.
    select
        place_areas.area_code,
        place_areas.area_name,
        place_areas.area_type,
        case
            when place_areas.area_type = 'region' then country_code.area_code
            when place_areas.is_place then coalesce(region_code.area_code, country_code.area_code)
        end as parent_area_code,
        place_areas.is_place,
        null::integer as imd_rank,
        null::integer as imd_decile,
        null::integer as local_imd_quintile,
        null::bigint as population_total,
        null::double as imd_rank_population_weighted

    from place_areas
    cross join country_code
    cross join region_code

),

ward_areas as (

    select
        ward_code as area_code,
        ward_name as area_name,
        'ward' as area_type,
        place_code as parent_area_code,
        false as is_place,
        null::integer as imd_rank,
        null::integer as imd_decile,
        -- for wards: the ward's local quintile among the place's wards
        local_deprivation_quintile as local_imd_quintile,
        population_total,
        imd_rank_population_weighted

    from wards

),

lsoa_areas as (

    select
        lsoa_code as area_code,
        lsoa_name as area_name,
        'lsoa' as area_type,
        ward_code as parent_area_code,
        false as is_place,
        imd_rank,
        imd_decile,
        local_imd_quintile,
        population_total,
        null::double as imd_rank_population_weighted

    from lsoas

),

unioned as (

    select * from configured
    union all by name
    select * from ward_areas
    union all by name
    select * from lsoa_areas

)

select
    area_code::varchar as area_code,
    area_name::varchar as area_name,
    area_type::varchar as area_type,
    parent_area_code::varchar as parent_area_code,
    is_place::boolean as is_place,
    imd_rank::integer as imd_rank,
    imd_decile::integer as imd_decile,
    local_imd_quintile::integer as local_imd_quintile,
    population_total::bigint as population_total,
    imd_rank_population_weighted::double as imd_rank_population_weighted

from unioned
