-- One row per ward of the place: its deprivation, and for every indicator/sex the latest
-- whole period with a value (a partial period, is_partial, is never the latest), judged
-- against the place's value for the same period. The values are
-- a JSON array (not one column per indicator) so that a new catalogue indicator shows up here
-- without any change to this model.

with

wards as (

    select * from {{ ref('int_ward_deprivation') }}

),

indicators as (

    select * from {{ ref('dim_indicator') }}

),

place as (

    select area_code from {{ ref('dim_area') }}
    where is_place

),

residents as (

    -- residents by ONS's latest mid-year small-area estimate (the IMD's own denominators,
    -- population_total, are of the release's year: mid-2015 for IoD2019)
    select ward_code, population_year, sum(population_total) as residents
    from {{ ref('int_population') }}
    where sex = 'Persons'
    group by ward_code, population_year
    qualify population_year = max(population_year) over ()

),

headline_values as (

    -- headline rows only: category rows (e.g. England by deprivation decile) are breakdowns;
    -- the judgement against the place is made below, on the ward's latest period
    select * exclude (place_value, compared_to_place) from {{ ref('fct_indicator_values') }}
    where category_type is null

),

latest_ward_values as (

    select
        headline_values.*,
        indicators.polarity

    from headline_values
    inner join indicators on headline_values.indicator_id = indicators.indicator_id
    where
        headline_values.area_type = 'ward'
        and headline_values.value is not null
        and headline_values.is_partial is not true
    -- latest period with a value; should an indicator carry several age bands, the
    -- catalogue's age wins, then the first by name, so the pick is deterministic
    qualify row_number() over (
        partition by headline_values.area_code, headline_values.indicator_id, headline_values.sex
        order by
            headline_values.period_sortable desc,
            headline_values.period desc,
            (headline_values.age = indicators.age) desc,
            headline_values.age
    ) = 1

),

place_values as (

    select
        headline_values.indicator_id,
        headline_values.sex,
        headline_values.age,
        headline_values.period,
        headline_values.value as place_value

    from headline_values
    inner join place on headline_values.area_code = place.area_code

),

compared as (

    select
        latest_ward_values.*,
        {{ compare_to_comparator(
            'latest_ward_values.lower_ci_95',
            'latest_ward_values.upper_ci_95',
            'place_values.place_value',
            'latest_ward_values.polarity'
        ) }} as compared_to_place

    from latest_ward_values
    left join place_values
        on
            latest_ward_values.indicator_id = place_values.indicator_id
            and latest_ward_values.sex = place_values.sex
            and latest_ward_values.age = place_values.age
            and latest_ward_values.period = place_values.period

),

per_ward as (

    select
        area_code as ward_code,
        count(distinct indicator_id)::integer as indicators_with_values,
        -- list() then to_json(): json_group_array is a macro and cannot take ORDER BY
        to_json(list(
            json_object(
                'indicator_id', indicator_id,
                'sex', sex,
                'period', period,
                'value', value,
                'lower_ci_95', lower_ci_95,
                'upper_ci_95', upper_ci_95,
                'compared_to_place', compared_to_place
            )
            order by indicator_id, sex
        )) as latest_values

    from compared
    group by area_code

),

final as (

    select
        wards.ward_code,
        wards.ward_name,
        wards.population_total,
        residents.residents,
        residents.population_year as residents_mid_year,
        wards.lsoa_count,
        wards.imd_rank_population_weighted,
        wards.deprivation_rank_in_place,
        wards.local_deprivation_quintile,
        wards.lsoas_in_national_decile_1,
        coalesce(per_ward.indicators_with_values, 0) as indicators_with_values,
        coalesce(per_ward.latest_values, '[]'::json) as latest_values

    from wards
    left join per_ward on wards.ward_code = per_ward.ward_code
    left join residents on wards.ward_code = residents.ward_code

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
    latest_values::json as latest_values

from final
