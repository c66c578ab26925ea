-- move_cart_events: the staged cart events into cart_events, and the adds and removes really
-- inserted counted per minute into stage_metrics.
with inserted as (
  insert into cart_events (event_id, event_type, user_id, product_id, session_id, quantity, price, country,
                           event_timestamp, ingested_at)
  select event_id, event_type, user_id, product_id, session_id, quantity, price, country, event_timestamp,
         statement_timestamp()
  from stage_cart_events
  on conflict (event_id) do nothing
  returning event_type, product_id, country, event_timestamp
), metrics as (
  insert into stage_metrics (minute, country, category, cart_adds, cart_removes)
  select date_trunc('minute', i.event_timestamp), i.country, coalesce(p.category, 'Unknown'),
         count(*) filter (where i.event_type = 'add'), count(*) filter (where i.event_type = 'remove')
  from inserted i left join products p on p.product_id = i.product_id
  group by 1, 2, 3
)
select count(*)::int as inserted from inserted;
