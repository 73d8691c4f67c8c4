-- Deprivation of each ward of the place, built up from its LSOAs. A ward's IMD position is the
-- population-weighted mean of its LSOAs' national ranks (ranks, not scores: the files carry
-- ranks for every release), so a large deprived LSOA counts for more than a small one.

with

lsoas as (

    select * from {{ ref('int_lsoa_deprivation') }}

),

wards as (

    select
        place_code,
        ward_code,
        -- one name per code in a lookup; min() only makes the choice deterministic
        min(ward_name) as ward_name,
        count(*)::integer as lsoa_count,
        sum(population_total)::bigint as population_total,
        (
            sum(imd_rank::double * population_total)
            / nullif(sum(population_total), 0)
        )::double as imd_rank_population_weighted,
        count_if(imd_decile = 1)::integer as lsoas_in_national_decile_1

    from lsoas
    -- LSOAs with no ward (a lookup mismatch) are reported by the test on int_lsoa_deprivation
    where ward_code is not null
    group by place_code, ward_code

),

final as (

    select
        *,
        -- 1 = most deprived ward of the place (lowest weighted national rank)
        rank() over (
            partition by place_code
            order by imd_rank_population_weighted
        )::integer as deprivation_rank_in_place,
        -- local quintile of wards, 1 = most deprived fifth of the place's wards
        ntile(5) over (
            partition by place_code
            order by imd_rank_population_weighted, ward_code
        )::integer as local_deprivation_quintile

    from wards

)

select * from final
