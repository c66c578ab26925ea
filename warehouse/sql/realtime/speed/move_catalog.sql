-- move_catalog: every record goes to the append-only history; the current catalog (products) only
-- moves forward in time.
with inserted as (
  insert into product_catalog_events (product_id, updated_at, name, category, price, ingested_at)
  select product_id, updated_at, name, category, price, statement_timestamp()
  from stage_catalog
  on conflict (product_id, updated_at) do nothing
  returning product_id
), latest as (
  select distinct on (product_id) product_id, name, category, price, updated_at
  from stage_catalog
  order by product_id, updated_at desc
), current as (
  insert into products as p (product_id, name, category, price, updated_at, ingested_at)
  select product_id, name, category, price, updated_at, statement_timestamp() from latest order by product_id
  on conflict (product_id) do update
  set name = excluded.name, category = excluded.category, price = excluded.price, updated_at = excluded.updated_at,
      ingested_at = excluded.ingested_at
  where p.updated_at < excluded.updated_at
  returning 1
)
select count(*)::int as inserted from inserted;
