-- What the latest release changed: new values, revised values, changed significance against
-- England, and values withdrawn. A release is a build of the marts that changed anything
-- (history.fct_indicator_values_history gets a new version per changed row).

with

history as (

    select * from {{ ref('fct_indicator_values_history') }}

),

releases as (

    select distinct dbt_valid_from as released_at from history
    union
    select distinct dbt_valid_to from history
    where dbt_valid_to is not null

),

latest as (

    select
        max(released_at) as released_at,
        count(*) = 1 as is_first_release
    from releases

),

versions as (

    select
        history.*,
        lag(history.value) over by_key as previous_value,
        lag(history.compared_to_england) over by_key as previous_compared_to_england,
        lag(history.dbt_valid_from) over by_key as previous_released_at
    from history
    window by_key as (partition by history.value_key order by history.dbt_valid_from)

),

started as (

    -- versions that begin with the latest release: new data or a revision
    select
        versions.*,
        -- `is distinct from` in brackets: sqlfluff's DuckDB grammar cannot parse it bare in `when`
        case
            when versions.previous_released_at is null then 'new data'
            when (versions.value is distinct from versions.previous_value) then 'revised value'
            when (
                versions.compared_to_england is distinct from versions.previous_compared_to_england
            )
                then 'significance changed'
            else 'revised limits or counts'
        end as change_type
    from versions
    inner join latest on versions.dbt_valid_from = latest.released_at

),

withdrawn as (

    -- values whose last version ended with the latest release and have no successor
    select
        versions.* replace (
            versions.value as previous_value,
            versions.compared_to_england as previous_compared_to_england,
            versions.dbt_valid_from as previous_released_at
        ),
        'withdrawn' as change_type
    from versions
    inner join latest on versions.dbt_valid_to = latest.released_at
    where not exists (
        select 1 from history as later
        where later.value_key = versions.value_key and later.dbt_valid_to is null
    )

),

changes as (

    select * from started
    union all by name
    select * from withdrawn

)

select
    changes.value_key::varchar as value_key,
    changes.indicator_id::varchar as indicator_id,
    changes.area_code::varchar as area_code,
    changes.area_type::varchar as area_type,
    changes.period::varchar as period,
    changes.sex::varchar as sex,
    changes.age::varchar as age,
    changes.category_type::varchar as category_type,
    changes.category::varchar as category,
    changes.change_type::varchar as change_type,
    changes.previous_value::double as previous_value,
    case when changes.change_type = 'withdrawn' then null else changes.value end::double as value,
    changes.previous_compared_to_england::varchar as previous_compared_to_england,
    changes.compared_to_england::varchar as compared_to_england,
    changes.source::varchar as source,
    latest.released_at::timestamp as released_at,
    changes.previous_released_at::timestamp as previous_released_at,
    latest.is_first_release::boolean as is_first_release

from changes
cross join latest
