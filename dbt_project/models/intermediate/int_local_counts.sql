-- Counts behind every indicator computed from partner data, at the finest geography each
-- partner sends (LSOA or ward): one row per indicator, area, period and breakdown, with the
-- numerator and denominator. Adding a local indicator is a catalogue row plus its block here.
--
-- Denominators for rates per resident come from the IoD population denominators (File_6,
-- mid-2015), the only small-area populations loaded today: rates are per resident, not per
-- household (no household counts are loaded).

with

lsoa_population as (

    select
        lsoa_code, ward_code, population_total, population_aged_0_15, population_working_age
    from {{ ref('int_lsoa_deprivation') }}

),

ward_population as (

    select
        ward_code,
        sum(population_total) as population_total,
        sum(population_aged_0_15) as population_aged_0_15,
        sum(population_working_age) as population_working_age
    from lsoa_population
    group by ward_code

),

eyfs as (

    -- by free school meals status, and the headline over all pupils (rollup's total row)
    select
        'school_readiness_gld_local' as indicator_id, 'lsoa' as geography, lsoa_code as area_code,
        academic_year as period, (assessment_year - 1) * 10000 as period_sortable,
        'Persons' as sex, '5 yrs' as age,
        case when grouping(fsm_status) = 0 then 'FSM status' end as category_type,
        fsm_status as category,
        sum(pupils_reaching_gld) as numerator, sum(pupils_assessed) as denominator
    from {{ ref('stg_council_education__eyfs_results') }}
    group by lsoa_code, academic_year, assessment_year, rollup(fsm_status)

),

family_hubs as (

    -- children reached in a financial year (April to March) per child aged 0-15
    select
        'family_hubs_reach' as indicator_id, 'ward' as geography, c.ward_code as area_code,
        c.fy || '/' || lpad(((c.fy + 1) % 100)::varchar, 2, '0') as period,
        c.fy * 10000 as period_sortable,
        'Persons' as sex, '0-15 yrs' as age, null as category_type, null as category,
        sum(c.children_reached) as numerator, any_value(p.population_aged_0_15) as denominator
    from (
        select *, year(month_start) - case when month(month_start) < 4 then 1 else 0 end as fy
        from {{ ref('stg_council_family_hubs__contacts') }}
    ) as c
    inner join ward_population as p using (ward_code)
    group by c.ward_code, c.fy

),

neet as (

    select
        'neet_or_not_known_local' as indicator_id, 'ward' as geography, ward_code as area_code,
        month as period, (year(month_start) * 10000 + month(month_start) * 100) as period_sortable,
        'Persons' as sex, '16-17 yrs' as age, null as category_type, null as category,
        neet_or_not_known as numerator, cohort as denominator
    from {{ ref('stg_council_education__neet') }}

),

claimants as (

    select
        'claimant_rate' as indicator_id, 'lsoa' as geography, c.lsoa_code as area_code,
        c.month as period, replace(c.month, '-', '')::bigint * 100 as period_sortable,
        'Persons' as sex, '16-64 yrs' as age, null as category_type, null as category,
        c.claimants as numerator, p.population_working_age as denominator
    from {{ ref('stg_dwp_nomis__claimant_count') }} as c
    inner join lsoa_population as p using (lsoa_code)
    where c.gender = 'Total'

),

job_shop_clients as (

    select
        *,
        year(start_date) as start_year,
        -- clients sent by LSOA are counted in their LSOA's ward
        ward_code as area_code
    from {{ ref('stg_council_job_shop__clients') }}
    where ward_code is not null

),

job_shop_into_work as (

    -- headline and by barrier (a client with several barriers counts in each)
    select
        'job_shop_into_work' as indicator_id, 'ward' as geography, area_code,
        start_year::varchar as period, start_year * 10000 as period_sortable,
        'Persons' as sex, '16+ yrs' as age, category_type, category,
        count(*) filter (where into_work) as numerator, count(*) as denominator
    from (
        select *, null as category_type, null as category from job_shop_clients
        union all by name
        select *, 'Barrier' as category_type, barrier as category
        from job_shop_clients,
            unnest([
                case when disability then 'Disability' end,
                case when care_leaver then 'Care leaver' end,
                case when ex_offender then 'Ex-offender' end,
                case when refugee then 'Refugee' end,
                case when lone_parent then 'Lone parent' end
            ]) as b (barrier)
        where barrier is not null
    ) as client_categories
    group by area_code, start_year, category_type, category

),

job_shop_reach as (

    select
        'job_shop_reach' as indicator_id, 'ward' as geography, j.area_code,
        j.start_year::varchar as period, j.start_year * 10000 as period_sortable,
        'Persons' as sex, '16-64 yrs' as age, null as category_type, null as category,
        count(*) as numerator, any_value(p.population_working_age) as denominator
    from job_shop_clients as j
    inner join ward_population as p on j.area_code = p.ward_code
    group by j.area_code, j.start_year

),

fsm as (

    select
        unnest(['fsm_eligibility_local', 'fsm_take_up']) as indicator_id,
        'ward' as geography, ward_code as area_code, census_term as period,
        census_year * 10000 + census_term_order * 100 as period_sortable,
        'Persons' as sex, 'School age' as age, null as category_type, null as category,
        unnest([pupils_eligible, eligible_taking_meal]) as numerator,
        unnest([pupils_on_roll, pupils_eligible]) as denominator
    from {{ ref('stg_council_education__fsm_eligibility') }}

),

temporary_accommodation as (

    select
        'temporary_accommodation_rate' as indicator_id, 'ward' as geography,
        t.ward_code as area_code, t.quarter as period,
        left(t.quarter, 4)::bigint * 10000 + right(t.quarter, 1)::bigint * 100 as period_sortable,
        'Not applicable' as sex, 'All ages' as age, null as category_type, null as category,
        t.households_in_ta as numerator, p.population_total as denominator
    from {{ ref('stg_council_housing__temporary_accommodation') }} as t
    inner join ward_population as p using (ward_code)

),

complete_crime_years as (

    -- calendar years with all twelve months of crimes delivered
    select left(month, 4) as crime_year
    from {{ ref('stg_police__crimes_by_lsoa_month') }}
    group by left(month, 4)
    having count(distinct month) = 12

),

crime as (

    -- a calendar year's crimes (only years with all twelve months delivered)
    select
        'crime_rate' as indicator_id, 'lsoa' as geography, c.lsoa_code as area_code,
        left(c.month, 4) as period, left(c.month, 4)::bigint * 10000 as period_sortable,
        'Persons' as sex, 'All ages' as age, null as category_type, null as category,
        sum(c.crimes) as numerator, any_value(p.population_total) as denominator
    from {{ ref('stg_police__crimes_by_lsoa_month') }} as c
    inner join lsoa_population as p using (lsoa_code)
    where left(c.month, 4) in (select complete_crime_years.crime_year from complete_crime_years)
    group by c.lsoa_code, left(c.month, 4)

),

child_measurements as (

    select
        case school_year
            when 'Reception' then 'reception_overweight_local'
            else 'year6_overweight_local'
        end as indicator_id,
        'lsoa' as geography, lsoa_code as area_code, academic_year as period,
        left(academic_year, 4)::bigint * 10000 as period_sortable,
        'Persons' as sex,
        case school_year when 'Reception' then '4-5 yrs' else '10-11 yrs' end as age,
        null as category_type, null as category,
        count(*) filter (where overweight_or_obese) as numerator, count(*) as denominator
    from {{ ref('stg_nhs_icb__child_measurements') }}
    where lsoa_code is not null
    group by all

)

select * from eyfs
union all by name
select * from family_hubs
union all by name
select * from neet
union all by name
select * from claimants
union all by name
select * from job_shop_into_work
union all by name
select * from job_shop_reach
union all by name
select * from fsm
union all by name
select * from temporary_accommodation
union all by name
select * from crime
union all by name
select * from child_measurements
