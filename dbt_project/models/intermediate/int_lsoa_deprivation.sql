-- Each LSOA of the place with its national IMD rank and decile, its ward, and a LOCAL quintile:
-- LSOAs ranked within the place only, so that every place has five equal-sized groups to
-- compare (national deciles can leave a place with almost no LSOAs in some deciles).

with

imd as (

    select * from {{ ref('stg_mhclg__imd_lsoa') }}

),

lookup as (

    select * from {{ ref('stg_ons__lsoa_ward_lookup') }}

),

place as (

    select area_code as place_code from {{ ref('stg_place__areas') }}
    where is_place

),

joined as (

    -- The IMD file is the spine (it is already restricted to the place's LSOAs by the
    -- ingestion). A left join keeps an LSOA whose code is missing from the lookup, so the
    -- not_null test on ward_code reports a geography vintage mismatch (e.g. IoD2025 LSOA 2021
    -- codes against an LSOA 2011 lookup) instead of the LSOA silently disappearing.
    select
        imd.lsoa_code,
        coalesce(lookup.lsoa_name, imd.lsoa_name) as lsoa_name,
        lookup.ward_code,
        lookup.ward_name,
        place.place_code,
        imd.imd_rank,
        imd.imd_decile,
        imd.population_total,
        imd.population_aged_0_15,
        imd.population_aged_16_59,
        imd.population_aged_60_plus,
        imd.population_working_age,
        imd.release

    from imd
    left join lookup on imd.lsoa_code = lookup.lsoa_code
    cross join place

),

final as (

    select
        *,
        -- ntile: as equal-sized groups as the count allows (earlier quintiles take the
        -- remainder). Rank 1 is the most deprived in England, so ascending rank puts the most
        -- deprived fifth of the place in quintile 1; lsoa_code breaks ties deterministically.
        ntile(5) over (
            partition by place_code
            order by imd_rank, lsoa_code
        )::integer as local_imd_quintile

    from joined

)

select * from final
