-- Counts behind every indicator computed from partner data, at the finest geography each
-- partner sends (LSOA or ward): one row per indicator, area, period and breakdown, with the
-- numerator and denominator. Adding a local indicator is a catalogue row plus its block here.
--
-- Denominators for rates per resident are the ONS mid-year small-area estimates of the
-- period's own year (int_population), in the indicator's age band: a calendar year or month
-- takes its year's mid-year estimate, a financial year or financial quarter (2024-25 Q3) its
-- start year's. A period after the latest estimate takes the latest, and says so
-- (denominator_note, population_year). Rates are per resident, not per household (no
-- household counts are loaded).
--
-- A block of a partner's return with one row per ward and period (its contract's key) says
-- each_ward_reported: a ward missing from a period is then data missing (a row quarantined
-- at the door, or not sent), not a ward with nothing to count (int_local_indicator_values).

with

population_years as (

    -- every year a period can fall in, and the mid-year estimate it takes: its own year's,
    -- else the nearest published (the latest for a period newer than the estimates)
    select
        period_year,
        greatest(least(period_year, latest_year), earliest_year) as population_year,
        case
            when period_year > latest_year
                then
                    'Denominator: mid-' || latest_year
                    || ' population estimates (the latest published) for a period of '
                    || period_year
            when period_year < earliest_year
                then
                    'Denominator: mid-' || earliest_year
                    || ' population estimates (the earliest loaded) for a period of '
                    || period_year
        end as denominator_note
    from (
        select
            unnest(range(
                min(population_year) - 10, greatest(max(population_year), year(current_date)) + 2
            ))::integer as period_year,
            min(population_year) as earliest_year,
            max(population_year) as latest_year
        from {{ ref('int_population') }}
    ) as years

),

lsoa_population as (

    -- one row per LSOA and year a period can fall in (period_year)
    select
        p.lsoa_code, p.ward_code, y.period_year, y.population_year, y.denominator_note,
        p.population_total, p.population_aged_0_15, p.population_aged_16_64
    from {{ ref('int_population') }} as p
    inner join population_years as y on p.population_year = y.population_year
    where p.sex = 'Persons'

),

ward_population as (

    select
        ward_code, period_year, population_year, denominator_note,
        sum(population_total) as population_total,
        sum(population_aged_0_15) as population_aged_0_15,
        sum(population_aged_16_64) as population_aged_16_64
    from lsoa_population
    group by ward_code, period_year, population_year, denominator_note

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

family_hubs_quarter_months as (

    -- the months of each financial quarter (Q1 = April to June) the hubs' monthly returns
    -- cover: the quarterly count of children is over the months the hubs were reporting
    select
        fy || '-' || lpad(((fy + 1) % 100)::varchar, 2, '0') || ' Q' || fq as quarter_label,
        count(distinct month_start) as coverage_months,
        min(month_start) as first_month,
        max(month_start) as last_month
    from (
        select
            month_start,
            year(month_start) - case when month(month_start) < 4 then 1 else 0 end as fy,
            ((month(month_start) + 8) % 12) // 3 + 1 as fq
        from {{ ref('stg_council_family_hubs__contacts') }}
    ) as months
    group by all

),

family_hubs as (

    -- distinct children reached in a financial quarter per child aged 0-15: the hubs' counts
    -- of children, not of contacts (a child seen many times counts once per hub; one reached
    -- by two hubs counts in each). A quarter with no monthly returns behind it is whole.
    select
        'family_hubs_reach' as indicator_id, 'ward' as geography, c.ward_code as area_code,
        c.quarter as period,
        left(c.quarter, 4)::bigint * 10000 + right(c.quarter, 1)::bigint * 100 as period_sortable,
        'Persons' as sex, '0-15 yrs' as age, null as category_type, null as category,
        sum(c.children_reached) as numerator, any_value(p.population_aged_0_15) as denominator,
        any_value(p.population_year) as population_year,
        any_value(p.denominator_note) as denominator_note,
        {{ coverage_columns(
            'coalesce(any_value(m.coverage_months), 3)',
            'any_value(m.first_month)', 'any_value(m.last_month)', 3
        ) }}
    from {{ ref('stg_council_family_hubs__children_reached') }} as c
    inner join ward_population as p
        on c.ward_code = p.ward_code and left(c.quarter, 4)::integer = p.period_year
    left join family_hubs_quarter_months as m on c.quarter = m.quarter_label
    group by c.ward_code, c.quarter

),

neet as (

    select
        'neet_or_not_known_local' as indicator_id, 'ward' as geography, ward_code as area_code,
        month as period, (year(month_start) * 10000 + month(month_start) * 100) as period_sortable,
        'Persons' as sex, '16-17 yrs' as age, null as category_type, null as category,
        neet_or_not_known as numerator, cohort as denominator,
        true as each_ward_reported
    from {{ ref('stg_council_education__neet') }}

),

claimants as (

    select
        'claimant_rate' as indicator_id, 'lsoa' as geography, c.lsoa_code as area_code,
        c.month as period, replace(c.month, '-', '')::bigint * 100 as period_sortable,
        'Persons' as sex, '16-64 yrs' as age, null as category_type, null as category,
        c.claimants as numerator, p.population_aged_16_64 as denominator,
        p.population_year, p.denominator_note
    from {{ ref('stg_dwp_nomis__claimant_count') }} as c
    inner join lsoa_population as p
        on c.lsoa_code = p.lsoa_code and left(c.month, 4)::integer = p.period_year
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

job_shop_year_months as (

    -- the months of each calendar year in which delivered clients started: a year the
    -- exports cover only in part (they began in April 2023) is partial
    select
        start_year,
        count(distinct date_trunc('month', start_date)) as coverage_months,
        min(date_trunc('month', start_date)) as first_month,
        max(date_trunc('month', start_date)) as last_month
    from job_shop_clients
    group by start_year

),

job_shop_into_work as (

    -- headline and by barrier (a client with several barriers counts in each)
    select
        'job_shop_into_work' as indicator_id, 'ward' as geography, client_categories.area_code,
        start_year::varchar as period, start_year * 10000 as period_sortable,
        'Persons' as sex, '16+ yrs' as age,
        client_categories.category_type, client_categories.category,
        count(*) filter (where client_categories.into_work) as numerator,
        count(*) as denominator,
        {{ coverage_columns(
            'any_value(m.coverage_months)', 'any_value(m.first_month)',
            'any_value(m.last_month)', 12
        ) }}
    from (
        -- union all by name matches columns by name (DuckDB), so blocks may differ
        select *, null as category_type, null as category from job_shop_clients  -- noqa: AM07
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
    inner join job_shop_year_months as m using (start_year)
    group by
        client_categories.area_code, start_year, client_categories.category_type,
        client_categories.category

),

job_shop_reach as (

    select
        'job_shop_reach' as indicator_id, 'ward' as geography, j.area_code,
        j.start_year::varchar as period, j.start_year * 10000 as period_sortable,
        'Persons' as sex, '16-64 yrs' as age, null as category_type, null as category,
        -- clients, not episodes: a client who starts twice in a year counts once
        count(distinct j.client_key) as numerator,
        any_value(p.population_aged_16_64) as denominator,
        any_value(p.population_year) as population_year,
        any_value(p.denominator_note) as denominator_note,
        {{ coverage_columns(
            'any_value(m.coverage_months)', 'any_value(m.first_month)',
            'any_value(m.last_month)', 12
        ) }}
    from job_shop_clients as j
    inner join ward_population as p
        on j.area_code = p.ward_code and j.start_year = p.period_year
    inner join job_shop_year_months as m on j.start_year = m.start_year
    group by j.area_code, j.start_year

),

fsm as (

    select
        unnest(['fsm_eligibility_local', 'fsm_take_up']) as indicator_id,
        'ward' as geography, ward_code as area_code, census_term as period,
        census_year * 10000 + census_term_order * 100 as period_sortable,
        'Persons' as sex, 'School age' as age, null as category_type, null as category,
        unnest([pupils_eligible, eligible_taking_meal]) as numerator,
        unnest([pupils_on_roll, pupils_eligible]) as denominator,
        true as each_ward_reported
    from {{ ref('stg_council_education__fsm_eligibility') }}

),

temporary_accommodation as (

    select
        'temporary_accommodation_rate' as indicator_id, 'ward' as geography,
        t.ward_code as area_code, t.quarter as period,
        left(t.quarter, 4)::bigint * 10000 + right(t.quarter, 1)::bigint * 100 as period_sortable,
        'Not applicable' as sex, 'All ages' as age, null as category_type, null as category,
        t.households_in_ta as numerator, p.population_total as denominator,
        p.population_year, p.denominator_note,
        true as each_ward_reported
    from {{ ref('stg_council_housing__temporary_accommodation') }} as t
    inner join ward_population as p
        on t.ward_code = p.ward_code and left(t.quarter, 4)::integer = p.period_year

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
        sum(c.crimes) as numerator, any_value(p.population_total) as denominator,
        any_value(p.population_year) as population_year,
        any_value(p.denominator_note) as denominator_note
    from {{ ref('stg_police__crimes_by_lsoa_month') }} as c
    inner join lsoa_population as p
        on c.lsoa_code = p.lsoa_code and left(c.month, 4)::integer = p.period_year
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

-- By name: a block without a coverage or note column gets NULL there (sqlfluff counts by
-- position, hence the noqa).
select * from eyfs  -- noqa: AM07
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
