/**
 * The scope of a quality run: what can have broken since the last run whose guards all passed
 * (quality.coverage), or everything. It is written, in the job's transaction, into the quality.*
 * tables the checks read (migration 0006; see quality-job.ts for each table).
 */
import type { PoolClient } from '@lambdamart/core';
import type { JobContext } from '../../runner/job.ts';
import { type FactTable, factTables, partitionRange } from '../../shared/fact-tables.ts';

/** The triggers of migration 0006 that log the changes a scoped run relies on. */
const changeLogTriggers = [
  ...factTables.map((fact) => `${fact}_quality`),
  ...['dim_products', 'dim_customers', 'dim_date', 'dim_geography'].flatMap((dim) =>
    ['delete', 'update', 'truncate'].map((event) => `${dim}_quality_${event}`),
  ),
];

export interface Scope {
  /** Why everything is checked, or null when only what changed since the coverage is. */
  fullBecause: string | null;
  /** This run's coverage once it passes: its snapshot, the newest facts run and the fact partitions it saw. */
  snapshot: string;
  factsRunId: number;
  partitions: FactPartition[];
  /** The fact partitions created since the coverage (all of them on a full check): every row of theirs is new. */
  newPartitions: FactPartition[];
}

interface Coverage {
  snapshot: string;
  factsRunId: number;
  partitions: number[];
}

export interface FactPartition {
  fact: FactTable;
  oid: number;
  name: string;
  /** FOR VALUES FROM ('2026-01-01') TO ('2026-02-01'), or DEFAULT. */
  bound: string;
}

export async function planScope(ctx: JobContext): Promise<Scope> {
  const { wh } = ctx;
  // First of all: every change visible in this snapshot is visible to the reads below.
  const now = await wh.query<{ snapshot: string; facts_run_id: number }>(
    `select pg_current_snapshot()::text as snapshot, coalesce(max(run_id), 0) as facts_run_id from fact_load_dates`,
  );
  const partitions = await factPartitions(wh);
  const previous = await wh.query<{ snapshot: string; facts_run_id: number; fact_partitions: number[] }>(
    'select covered::text as snapshot, facts_run_id, fact_partitions::int8[] as fact_partitions from quality.coverage',
  );
  const row = previous.rows[0];
  const covered = row ? { snapshot: row.snapshot, factsRunId: row.facts_run_id, partitions: row.fact_partitions.map(Number) } : null;
  const fullBecause = await fullCheckReason(ctx, covered);
  await wh.query(
    'truncate quality.checked_dates, quality.checked_since, quality.checked_keys, quality.moved_versions, quality.event_id_candidates',
  );
  const newPartitions = fullBecause || !covered ? partitions : partitions.filter((p) => !covered.partitions.includes(p.oid));
  if (fullBecause || !covered) await scopeEverything(wh, partitions);
  else await scopeChangesSince(wh, covered, newPartitions);
  await wh.query('analyze quality.checked_dates, quality.checked_keys, quality.moved_versions');
  return { fullBecause, snapshot: now.rows[0]?.snapshot ?? '', factsRunId: now.rows[0]?.facts_run_id ?? 0, partitions, newPartitions };
}

async function factPartitions(wh: PoolClient): Promise<FactPartition[]> {
  const { rows } = await wh.query<FactPartition>(
    `select i.inhparent::regclass::text as fact, c.oid::int8 as oid, c.oid::regclass::text as name,
            pg_get_expr(c.relpartbound, c.oid) as bound
     from pg_inherits i join pg_class c on c.oid = i.inhrelid
     where i.inhparent = any($1::regclass[])`,
    [factTables],
  );
  return rows;
}

async function fullCheckReason(ctx: JobContext, covered: Coverage | null): Promise<string | null> {
  if (ctx.options.fullRefresh) return 'full refresh';
  if (!covered) return 'no earlier run passed';
  const { rows } = await ctx.wh.query<{ triggers: number; truncated: boolean }>(
    `select (select count(*) from pg_trigger where tgname = any($1::text[]) and tgenabled <> 'D')::int as triggers,
            exists (select 1 from quality.dimension_changes
                    where key is null and not pg_visible_in_snapshot(written_by, $2::pg_snapshot)) as truncated`,
    [changeLogTriggers, covered.snapshot],
  );
  if (rows[0]?.triggers !== changeLogTriggers.length) return 'a change-log trigger is missing or disabled';
  if (rows[0]?.truncated) return 'a dimension was truncated';
  return null;
}

/** Every row: every date each fact can hold, every partition, every natural key. */
async function scopeEverything(wh: PoolClient, partitions: FactPartition[]): Promise<void> {
  await addPartitionDates(wh, partitions);
  await wh.query(
    `insert into quality.checked_since (everything, first_new_xid, running_xids, new_partitions) values (true, '0', '{}', $1::oid[])`,
    [partitions.map((p) => p.oid)],
  );
  await wh.query(
    `insert into quality.checked_keys (dimension, natural_key)
     select distinct 'dim_products', product_id from dim_products
     union all
     select distinct 'dim_customers', user_id from dim_customers`,
  );
}

/** The dates the partitions can hold: a bounded one's range, a default one's rows' dates. */
async function addPartitionDates(wh: PoolClient, partitions: FactPartition[]): Promise<void> {
  for (const { fact, name, bound } of partitions) {
    const range = partitionRange(bound);
    await wh.query(
      range
        ? `insert into quality.checked_dates (fact, event_date)
           select $1, d::date from generate_series($2::date, $3::date - 1, interval '1 day') d`
        : `insert into quality.checked_dates (fact, event_date) select distinct $1, event_date from ${name}`,
      range ? [fact, range.from, range.to] : [fact],
    );
  }
}

/** The rows, natural keys and moved versions changed since `covered` (see the module comment). */
async function scopeChangesSince(wh: PoolClient, covered: Coverage, newPartitions: FactPartition[]): Promise<void> {
  await addPartitionDates(wh, newPartitions);
  await wh.query(
    `insert into quality.checked_dates (fact, event_date)
     select fact, event_date from fact_load_dates where run_id > $1
     union
     select fact, event_date from quality.fact_updates where not pg_visible_in_snapshot(written_by, $2::pg_snapshot)
     except
     select fact, event_date from quality.checked_dates`,
    [covered.factsRunId, covered.snapshot],
  );
  // A row version is newer than the snapshot when its xmin is at or past the snapshot's xmax, or
  // was running then. xmin is a 32-bit xid: age() compares it with the snapshot's in that space.
  const { xmax, running } = thirtyTwoBitXids(covered.snapshot);
  await wh.query(
    `insert into quality.checked_since (everything, first_new_xid, running_xids, new_partitions) values (false, $1::xid, $2::xid[], $3::oid[])`,
    [xmax, running, newPartitions.map((p) => p.oid)],
  );
  await wh.query(
    `insert into quality.checked_keys (dimension, natural_key)
     select 'dim_products', product_id from dim_products where age(xmin) <= age($1::xid) or xmin = any($2::xid[])
     union
     select 'dim_customers', user_id from dim_customers where age(xmin) <= age($1::xid) or xmin = any($2::xid[])
     union
     select dimension, natural_key from quality.dimension_changes
     where dimension in ('dim_products', 'dim_customers') and not pg_visible_in_snapshot(written_by, $3::pg_snapshot)`,
    [xmax, running, covered.snapshot],
  );
  await wh.query(
    `insert into quality.moved_versions (dimension, key, moved_from, moved_to)
     with changed as (
       select distinct dimension, key, natural_key, effective_from, coalesce(effective_to, 'infinity') as effective_to
       from quality.dimension_changes
       where key is not null and not pg_visible_in_snapshot(written_by, $1::pg_snapshot)
     ),
     now_valid as (
       select 'dim_products' as dimension, product_id_pk as key, product_id as natural_key,
              effective_from, coalesce(effective_to, 'infinity') as effective_to
       from dim_products where product_id_pk in (select key from changed where dimension = 'dim_products')
       union all
       select 'dim_customers', customer_id, user_id, effective_from, coalesce(effective_to, 'infinity')
       from dim_customers where customer_id in (select key from changed where dimension = 'dim_customers')
       union all
       select 'dim_date', date_id, full_date::text, full_date::timestamptz, (full_date + 1)::timestamptz
       from dim_date where date_id in (select key from changed where dimension = 'dim_date')
       union all
       select 'dim_geography', geography_id, country, '-infinity', 'infinity'
       from dim_geography where geography_id in (select key from changed where dimension = 'dim_geography')
     ),
     -- All of the old validity when the row is gone or stands for another natural key; else
     -- what it no longer covers: before its new start and after its new end.
     moved as (
       select c.dimension, c.key, c.effective_from as moved_from, c.effective_to as moved_to
       from changed c left join now_valid n on n.dimension = c.dimension and n.key = c.key
       where n.key is null or n.natural_key <> c.natural_key
       union all
       select c.dimension, c.key, c.effective_from, least(c.effective_to, n.effective_from)
       from changed c join now_valid n on n.dimension = c.dimension and n.key = c.key and n.natural_key = c.natural_key
       union all
       select c.dimension, c.key, greatest(c.effective_from, n.effective_to), c.effective_to
       from changed c join now_valid n on n.dimension = c.dimension and n.key = c.key and n.natural_key = c.natural_key
     )
     select distinct dimension, key, moved_from, moved_to from moved where moved_from < moved_to`,
    [covered.snapshot],
  );
}

/** A snapshot's xmax and running xids ("xmin:xmax:xip,...", 64-bit) as 32-bit xids. */
export function thirtyTwoBitXids(snapshot: string): { xmax: string; running: string[] } {
  const [, xmax = '0', running = ''] = snapshot.split(':');
  const low = (xid: string) => (BigInt(xid) % 4294967296n).toString();
  return { xmax: low(xmax), running: running ? running.split(',').map(low) : [] };
}

/** Records this run's scope as checked (after the filters are saved: saveFilters). */
export async function recordCoverage(wh: PoolClient, scope: Scope): Promise<void> {
  await wh.query(
    `insert into quality.coverage (covered, facts_run_id, fact_partitions) values ($1::pg_snapshot, $2, $3::oid[])
     on conflict (only_row) do update
     set covered = excluded.covered, facts_run_id = excluded.facts_run_id, fact_partitions = excluded.fact_partitions, checked_at = now()`,
    [scope.snapshot, scope.factsRunId, scope.partitions.map((p) => p.oid)],
  );
  // What this snapshot shows has been checked now (by this run or an earlier one).
  await wh.query('delete from quality.fact_updates where pg_visible_in_snapshot(written_by, $1::pg_snapshot)', [scope.snapshot]);
  await wh.query('delete from quality.dimension_changes where pg_visible_in_snapshot(written_by, $1::pg_snapshot)', [scope.snapshot]);
}
