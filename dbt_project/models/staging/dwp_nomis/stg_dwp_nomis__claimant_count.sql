-- One row per LSOA, month, gender and age, with the count and the percentage side by side.
-- Nomis revises recent months and the live fetch asks for the last twelve every time, so each
-- figure comes from the latest delivery that carried it.
with source as (
    select * from {{ source('raw_dwp_nomis', 'dwp_nomis__claimant_count') }}
),

latest as (
    {{ latest_delivery(
        'source', ['date', 'geography_code', 'gender_name', 'age_name', 'measure_name']
    ) }}
)

select
    geography_code as lsoa_code,
    max(geography_name) as lsoa_name,
    date as month,
    gender_name as gender,
    age_name as age,
    cast(max(obs_value) filter (where measure_name = 'Claimant count') as integer) as claimants,
    max(obs_value) filter (
        where measure_name = 'Claimants as a proportion of residents aged 16-64'
    ) as claimants_percent_of_residents_16_64,
    max(_received_at) as received_at
from latest
group by geography_code, date, gender_name, age_name
