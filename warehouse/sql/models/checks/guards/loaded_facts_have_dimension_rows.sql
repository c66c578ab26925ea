-- facts_have_dimension_rows as the facts job checks it before it commits: every row this run
-- inserted (loaded_fact_rows, a temp table of the job's transaction, filled by the inserts'
-- RETURNING) has the dimension rows its event needs, with the conditions of
-- checks/facts_have_dimension_rows.sql: the date of its event date; for customers and products
-- a version of the row's own natural key valid at the event's time (-1, the unknown member,
-- stands for "no version"). The quality job checks the rows written around the jobs.
select f.fact, f.event_id, f.event_date, f.date_id, f.customer_id, f.product_id_pk, f.geography_id
from loaded_fact_rows f
left join dim_date d on d.date_id = f.date_id
left join dim_customers c on c.customer_id = f.customer_id
left join dim_products p on p.product_id_pk = f.product_id_pk
left join dim_geography g on g.geography_id = f.geography_id
where d.date_id is null
   or d.full_date <> f.event_date
   or c.customer_id is null
   or (f.customer_id <> -1
       and (c.user_id <> f.user_id
            or f.event_time < c.effective_from
            or f.event_time >= coalesce(c.effective_to, 'infinity')))
   or p.product_id_pk is null
   or (f.product_id_pk <> -1
       and (p.product_id <> f.product_id
            or f.event_time < p.effective_from
            or f.event_time >= coalesce(p.effective_to, 'infinity')))
   or g.geography_id is null
