-- Every fact row is loaded once: no event id of the fact :'fact' under two event dates.
-- Run once per fact (psql -v fact=fact_sales, fact_product_views or fact_cart_events); recorded
-- as the check <fact>_unique_event_id.
--
-- The primary key is (event_id, event_date), so a second copy of an event can only hide under
-- another event date, in any partition. Looking every new id up in every partition would cost
-- a scan of the whole table; instead the quality job streams event ids past per-month Bloom
-- filters (quality.event_id_filters) and lists in quality.event_id_candidates each id that may
-- sit in two months or twice in one, with those months. What it streams: every row on a full
-- check; otherwise every row of each month with a date loaded or updated since the last
-- passing run, tested against the filters of the other months, which hold every id those
-- months had then (unchanged since, and clean). A new second copy has one side in a streamed
-- month, and a Bloom filter never misses an id it holds: every second copy is a candidate.
-- This query counts the real copies of the candidates.
--
-- One branch per fact: fact_sales keys lines by text ('<transaction_id>:<line_number>'), the
-- events by uuid, and each branch compares in its key's type so the key's index is used. The
-- branches of the other facts have no candidates (and a constant false filter the planner drops).
with candidates as (
    select distinct fact, event_id, month
    from quality.event_id_candidates
    where fact = :'fact'
),

copies as (
    select f.event_id, f.event_date
    from candidates c
    join fact_sales f
      on f.event_id = c.event_id
     and f.event_date >= c.month
     and f.event_date < (c.month + interval '1 month')::date
    where c.fact = 'fact_sales' and :'fact' = 'fact_sales'

    union all

    select f.event_id::text, f.event_date
    from candidates c
    join fact_product_views f
      on f.event_id = c.event_id::uuid
     and f.event_date >= c.month
     and f.event_date < (c.month + interval '1 month')::date
    where c.fact = 'fact_product_views' and :'fact' = 'fact_product_views'

    union all

    select f.event_id::text, f.event_date
    from candidates c
    join fact_cart_events f
      on f.event_id = c.event_id::uuid
     and f.event_date >= c.month
     and f.event_date < (c.month + interval '1 month')::date
    where c.fact = 'fact_cart_events' and :'fact' = 'fact_cart_events'
)

select event_id, count(*) as copies
from copies
group by event_id
having count(*) > 1
