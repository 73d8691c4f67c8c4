-- mart_ward_profile as it may leave the warehouse, in long form: one row per ward and each
-- indicator and sex it has a value for (the mart's JSON array unnested), every value taken
-- from publish.fct_indicator_values, so suppressed cells stay suppressed here. The latest
-- period is the mart's (the latest with a value before disclosure control): a suppressed
-- latest value shows as suppressed, never replaced by an older one.

with

wards as (

    select
        ward_code,
        ward_name,
        population_total,
        residents,
        residents_mid_year,
        lsoa_count,
        imd_rank_population_weighted,
        deprivation_rank_in_place,
        local_deprivation_quintile,
        lsoas_in_national_decile_1
    from {{ ref('mart_ward_profile') }}

),

unnested as (

    select
        ward_code,
        unnest(
            from_json(
                latest_values,
                '[{"indicator_id": "VARCHAR", "sex": "VARCHAR", "period": "VARCHAR"}]'
            )
        ) as entry
    from {{ ref('mart_ward_profile') }}

),

entries as (

    select
        ward_code,
        struct_extract(entry, 'indicator_id') as indicator_id,
        struct_extract(entry, 'sex') as sex,
        struct_extract(entry, 'period') as period
    from unnested

),

indicators as (

    select indicator_id, polarity, age from {{ ref('dim_indicator') }}

),

published as (

    select * from {{ ref('publish__fct_indicator_values') }}
    where category_type is null

),

ward_values as (

    select
        entries.ward_code,
        published.*,
        indicators.polarity
    from entries
    inner join indicators on entries.indicator_id = indicators.indicator_id
    inner join published
        on
            entries.ward_code = published.area_code
            and entries.indicator_id = published.indicator_id
            and entries.sex = published.sex
            and entries.period = published.period
    -- the mart's pick when an indicator carries several age bands: the catalogue's age first
    qualify row_number() over (
        partition by entries.ward_code, published.indicator_id, published.sex
        order by (published.age = indicators.age) desc, published.age
    ) = 1

),

place_values as (

    select p.indicator_id, p.sex, p.age, p.period, p.value as place_value
    from published as p
    inner join {{ ref('dim_area') }} as a on p.area_code = a.area_code
    where a.is_place

),

final as (

    select
        wards.*,
        count(ward_values.value) over (partition by wards.ward_code) as indicators_with_values,
        ward_values.indicator_id,
        ward_values.sex,
        ward_values.age,
        ward_values.period,
        ward_values.period_start,
        ward_values.period_end,
        ward_values.numerator,
        ward_values.denominator,
        ward_values.value,
        ward_values.lower_ci_95,
        ward_values.upper_ci_95,
        place_values.place_value,
        case
            when ward_values.indicator_id is not null
                then {{ compare_to_comparator(
                    'ward_values.lower_ci_95',
                    'ward_values.upper_ci_95',
                    'place_values.place_value',
                    'ward_values.polarity'
                ) }}
        end as compared_to_place,
        ward_values.is_suppressed,
        ward_values.suppression_reason,
        ward_values.source
    from wards
    left join ward_values on wards.ward_code = ward_values.ward_code
    left join place_values
        on
            ward_values.indicator_id = place_values.indicator_id
            and ward_values.sex = place_values.sex
            and ward_values.age = place_values.age
            and ward_values.period = place_values.period

)

select
    ward_code::varchar as ward_code,
    ward_name::varchar as ward_name,
    population_total::bigint as population_total,
    residents::bigint as residents,
    residents_mid_year::integer as residents_mid_year,
    lsoa_count::integer as lsoa_count,
    imd_rank_population_weighted::double as imd_rank_population_weighted,
    deprivation_rank_in_place::integer as deprivation_rank_in_place,
    local_deprivation_quintile::integer as local_deprivation_quintile,
    lsoas_in_national_decile_1::integer as lsoas_in_national_decile_1,
    indicators_with_values::integer as indicators_with_values,
    indicator_id::varchar as indicator_id,
    sex::varchar as sex,
    age::varchar as age,
    period::varchar as period,
    period_start::date as period_start,
    period_end::date as period_end,
    numerator::double as numerator,
    denominator::double as denominator,
    value::double as value,
    lower_ci_95::double as lower_ci_95,
    upper_ci_95::double as upper_ci_95,
    place_value::double as place_value,
    compared_to_place::varchar as compared_to_place,
    coalesce(is_suppressed, false)::boolean as is_suppressed,
    suppression_reason::varchar as suppression_reason,
    {{ disclosure_rules_version() }}::varchar as disclosure_rules_version,
    source::varchar as source
from final
