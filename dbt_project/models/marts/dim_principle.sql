-- The Marmot principles (brief, section 2), with principle 0 for cross-cutting outcomes.
with

principles as (

    select * from {{ ref('stg_reference__principles') }}

)

select
    principle_id,
    principle_name,
    since_year

from principles
