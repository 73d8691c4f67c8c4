-- Everything "within the place" (local quintiles, ward ranks, the ward profile's comparator)
-- assumes raw.place_areas names exactly one place. Fails with the count when it does not.
select count(*) as places
from {{ ref('stg_place__areas') }}
where is_place
having count(*) <> 1
