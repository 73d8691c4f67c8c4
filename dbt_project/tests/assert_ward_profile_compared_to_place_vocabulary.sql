-- Every entry of mart_ward_profile.latest_values is an object whose compared_to_place is one
-- of the documented values (the JSON column cannot carry an accepted_values test itself).
with

entries as (

    select
        ward_code,
        unnest(
            from_json(
                latest_values, '[{"indicator_id": "VARCHAR", "compared_to_place": "VARCHAR"}]'
            )
        ) as entry
    from {{ ref('mart_ward_profile') }}

)

select entries.ward_code, entry.indicator_id, entry.compared_to_place
from entries
where
    entry.indicator_id is null
    or entry.compared_to_place is null
    or entry.compared_to_place not in (
        'better', 'similar', 'worse', 'higher', 'lower', 'not compared'
    )
