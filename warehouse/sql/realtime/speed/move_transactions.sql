-- move_transactions: the staged transactions and their lines into the targets (a row already there is
-- left alone), and only the lines really inserted (RETURNING) aggregated per minute into stage_metrics.
-- ingested_at is the time of the statement, just before the commit.
with inserted as (
  insert into transactions (transaction_id, user_id, session_id, total_amount, currency, payment_method, country,
                            transaction_timestamp, ingested_at)
  select transaction_id, user_id, session_id, total_amount, currency, payment_method, country, transaction_timestamp,
         statement_timestamp()
  from stage_transactions
  on conflict (transaction_id) do nothing
  returning transaction_id, country, transaction_timestamp
), items as (
  insert into transaction_items (transaction_id, line_number, product_id, quantity, price)
  select s.transaction_id, s.line_number, s.product_id, s.quantity, s.price
  from stage_transaction_items s join inserted i on i.transaction_id = s.transaction_id
  -- the same transaction twice in one merged batch: its lines once
  on conflict (transaction_id, line_number) do nothing
  returning transaction_id, product_id, quantity, price
), metrics as (
  insert into stage_metrics (minute, country, category, revenue, orders, units)
  select date_trunc('minute', i.transaction_timestamp), i.country, coalesce(p.category, 'Unknown'),
         sum(it.price * it.quantity), count(distinct it.transaction_id), sum(it.quantity)
  from items it
  join inserted i on i.transaction_id = it.transaction_id
  left join products p on p.product_id = it.product_id
  group by 1, 2, 3
)
select count(*)::int as inserted from inserted;
