-- Incidents by LSOA, month and crime type: the numerator of the crime rate, counted once here
-- so every mart uses the same count. Only combinations with at least one incident appear.
select
    lsoa_code,
    month,
    crime_type,
    count(*) as crimes
from {{ ref('stg_police__street_crime') }}
group by lsoa_code, month, crime_type
