-- move_product_views: the staged views into product_view_events, and the views really inserted
-- counted per minute into stage_metrics.
with inserted as (
  insert into product_view_events (event_id, user_id, product_id, session_id, view_duration, country, event_timestamp,
                                   ingested_at)
  select event_id, user_id, product_id, session_id, view_duration, country, event_timestamp, statement_timestamp()
  from stage_product_views
  on conflict (event_id) do nothing
  returning product_id, country, event_timestamp
), metrics as (
  insert into stage_metrics (minute, country, category, views)
  select date_trunc('minute', i.event_timestamp), i.country, coalesce(p.category, 'Unknown'), count(*)
  from inserted i left join products p on p.product_id = i.product_id
  group by 1, 2, 3
)
select count(*)::int as inserted from inserted;
