/**
 * The realtime database side of a saver. One batch of one partition is saved in ONE transaction:
 * COPY into per-session staging tables, INSERT ... SELECT ... ON CONFLICT DO NOTHING into the
 * targets, the per-minute speed view for the rows actually inserted, the dead letters, and the
 * partition's next offset. Either all of it commits or none of it does.
 */
import type { Pool, PoolClient } from '@lambdamart/core';
import { from as copyFrom } from 'pg-copy-streams';
import type { StagingCopy } from './rows.ts';

/**
 * Staging tables live in each session (temp), created once per connection; ON COMMIT DELETE ROWS
 * empties them at every commit, so a batch never sees another batch's rows.
 */
export const PREPARE_SESSION_SQL = `
set time zone 'UTC';
-- Staging tables have no statistics, so the planner's costs look huge and would trigger JIT
-- compilation (20+ ms a statement) for a few thousand rows.
set jit = off;
create temp table if not exists stage_transactions (
  transaction_id uuid, user_id text, session_id text, total_amount numeric(12, 2), currency char(3),
  payment_method text, country text, transaction_timestamp timestamptz) on commit delete rows;
create temp table if not exists stage_transaction_items (
  transaction_id uuid, line_number smallint, product_id text, quantity integer, price numeric(12, 2)) on commit delete rows;
create temp table if not exists stage_product_views (
  event_id uuid, user_id text, product_id text, session_id text, view_duration integer, country text,
  event_timestamp timestamptz) on commit delete rows;
create temp table if not exists stage_cart_events (
  event_id uuid, event_type text, user_id text, product_id text, session_id text, quantity integer,
  price numeric(12, 2), country text, event_timestamp timestamptz) on commit delete rows;
create temp table if not exists stage_metrics (
  minute timestamptz, country text, category text, revenue numeric(14, 2) not null default 0, orders bigint not null default 0,
  units bigint not null default 0, views bigint not null default 0, cart_adds bigint not null default 0,
  cart_removes bigint not null default 0) on commit delete rows;
create temp table if not exists stage_catalog (
  product_id text, updated_at timestamptz, name text, category text, price numeric(12, 2)) on commit delete rows;
`;

export type StagedKind = 'transaction' | 'view' | 'cart' | 'catalog';

// Each statement moves the staged rows into the targets and aggregates only the rows it really
// inserted (RETURNING) into stage_metrics; ADD_METRICS_SQL adds those to speed_minute_metrics as
// the last statement before the commit, so the shared metric rows stay locked for as short a
// time as possible, and in key order, so that concurrent batches cannot deadlock. ingested_at is
// the time of the statement, just before the commit.
const MOVE_SQL: Record<StagedKind, string> = {
  transaction: `
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
select count(*)::int as inserted from inserted`,
  view: `
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
select count(*)::int as inserted from inserted`,
  cart: `
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
select count(*)::int as inserted from inserted`,
  // Every record goes to the append-only history; the current catalog only moves forward in time.
  catalog: `
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
select count(*)::int as inserted from inserted`,
};

const ADD_METRICS_SQL = `
insert into speed_minute_metrics as m (minute, country, category, revenue, orders, units, views, cart_adds, cart_removes)
select minute, country, category, sum(revenue), sum(orders), sum(units), sum(views), sum(cart_adds), sum(cart_removes)
from stage_metrics
group by 1, 2, 3
order by 1, 2, 3
on conflict (minute, country, category) do update
set revenue = m.revenue + excluded.revenue, orders = m.orders + excluded.orders, units = m.units + excluded.units,
    views = m.views + excluded.views, cart_adds = m.cart_adds + excluded.cart_adds,
    cart_removes = m.cart_removes + excluded.cart_removes`;

export interface DeadLetterRow {
  offset: string;
  key: string | null;
  reason: string;
  payload: string | null;
}

export interface PartitionBatch {
  group: string;
  topic: string;
  partition: number;
  kind: StagedKind;
  /** The next offset this saver believes Postgres holds for the partition (null: no row yet). */
  expectedOffset: string | null;
  /** The next offset once this batch is saved. */
  nextOffset: string;
  staged: StagingCopy;
  deadLetters: readonly DeadLetterRow[];
}

export type SaveResult =
  | { status: 'saved'; inserted: number; duplicates: number }
  /** Someone else moved the partition since we read it: nothing was written; re-read and seek. */
  | { status: 'moved'; storedOffset: string | null };

export async function readStoredOffset(db: Pool | PoolClient, group: string, topic: string, partition: number): Promise<string | null> {
  const { rows } = await db.query<{ next_offset: number }>(
    'select next_offset from consumer_offsets where group_id = $1 and topic = $2 and partition = $3',
    [group, topic, partition],
  );
  return rows[0] ? String(rows[0].next_offset) : null;
}

/**
 * Moves a stored offset that lies past the end of its partition's log back to `to` (where the new
 * log is read from), only if it still holds `from`: another member may have saved since.
 */
export async function restartStoredOffset(
  db: Pool | PoolClient,
  position: { group: string; topic: string; partition: number },
  from: string,
  to: string,
): Promise<void> {
  await db.query(
    `update consumer_offsets set next_offset = $5, updated_at = now()
     where group_id = $1 and topic = $2 and partition = $3 and next_offset = $4`,
    [position.group, position.topic, position.partition, from, to],
  );
}

/** Every stored offset of a group, keyed `topic|partition`. */
export async function readStoredOffsets(pool: Pool, group: string): Promise<Map<string, string>> {
  const { rows } = await pool.query<{ topic: string; partition: number; next_offset: number }>(
    'select topic, partition, next_offset from consumer_offsets where group_id = $1',
    [group],
  );
  return new Map(rows.map((r) => [`${r.topic}|${r.partition}`, String(r.next_offset)]));
}

export async function saveBatch(client: PoolClient, batch: PartitionBatch): Promise<SaveResult> {
  await client.query('begin');
  try {
    const key = [batch.group, batch.topic, batch.partition];
    // The row lock makes a second saver of the same partition (a rebalance overlap) wait here.
    const current = await client.query<{ next_offset: number }>(
      'select next_offset from consumer_offsets where group_id = $1 and topic = $2 and partition = $3 for update',
      key,
    );
    const stored = current.rows[0] ? String(current.rows[0].next_offset) : null;
    if (stored !== batch.expectedOffset) {
      await client.query('rollback');
      return { status: 'moved', storedOffset: stored };
    }
    let inserted = 0;
    if (batch.staged.events > 0) {
      for (const [table, text] of Object.entries(batch.staged.tables)) {
        if (text.length > 0) await copyInto(client, table, text);
      }
      const moved = await client.query<{ inserted: number }>(MOVE_SQL[batch.kind]);
      inserted = moved.rows[0]?.inserted ?? 0;
    }
    if (batch.deadLetters.length > 0) await insertDeadLetters(client, batch);
    const written =
      stored === null
        ? await client.query(
            `insert into consumer_offsets (group_id, topic, partition, next_offset) values ($1, $2, $3, $4)
             on conflict do nothing`,
            [...key, batch.nextOffset],
          )
        : await client.query(
            `update consumer_offsets set next_offset = $4, updated_at = now()
             where group_id = $1 and topic = $2 and partition = $3 and next_offset = $5`,
            [...key, batch.nextOffset, stored],
          );
    if (written.rowCount !== 1) {
      await client.query('rollback');
      return { status: 'moved', storedOffset: await currentOffset(client, batch) };
    }
    if (inserted > 0 && batch.kind !== 'catalog') await client.query(ADD_METRICS_SQL);
    await client.query('commit');
    return { status: 'saved', inserted, duplicates: batch.staged.events - inserted };
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  }
}

async function currentOffset(client: PoolClient, batch: PartitionBatch): Promise<string | null> {
  const { rows } = await client.query<{ next_offset: number }>(
    'select next_offset from consumer_offsets where group_id = $1 and topic = $2 and partition = $3',
    [batch.group, batch.topic, batch.partition],
  );
  return rows[0] ? String(rows[0].next_offset) : null;
}

async function copyInto(client: PoolClient, table: string, text: string): Promise<void> {
  const stream = client.query(copyFrom(`copy ${table} from stdin`));
  await new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', reject);
    stream.end(text);
  });
}

async function insertDeadLetters(client: PoolClient, batch: PartitionBatch): Promise<void> {
  const rows = batch.deadLetters;
  await client.query(
    `insert into dead_letters (source_topic, source_partition, source_offset, message_key, reason, payload)
     select $1, $2, o, k, r, p from unnest($3::bigint[], $4::text[], $5::text[], $6::text[]) as d(o, k, r, p)
     on conflict (source_topic, source_partition, source_offset) do nothing`,
    [
      batch.topic,
      batch.partition,
      rows.map((d) => d.offset),
      rows.map((d) => d.key),
      rows.map((d) => d.reason),
      rows.map((d) => d.payload),
    ],
  );
}

/**
 * For a batch that Postgres refused as data (a value the steps did not foresee): tries each event
 * alone, inside a savepoint of a transaction that is rolled back, and returns why each refused one
 * was refused. The caller dead-letters those and saves the rest.
 */
export async function findRefusedEvents(
  client: PoolClient,
  kind: StagedKind,
  events: readonly StagingCopy[],
): Promise<Map<number, string>> {
  const refused = new Map<number, string>();
  await client.query('begin');
  try {
    for (const [i, staged] of events.entries()) {
      await client.query('savepoint one_event');
      try {
        for (const [table, text] of Object.entries(staged.tables)) {
          if (text.length > 0) await copyInto(client, table, text);
        }
        await client.query(MOVE_SQL[kind]);
        if (kind !== 'catalog') await client.query(ADD_METRICS_SQL);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (!code?.startsWith('22') && !code?.startsWith('23')) throw error;
        refused.set(i, `refused by PostgreSQL: ${(error as Error).message} (${code})`);
      }
      await client.query('rollback to savepoint one_event');
    }
  } finally {
    await client.query('rollback').catch(() => undefined);
  }
  return refused;
}
