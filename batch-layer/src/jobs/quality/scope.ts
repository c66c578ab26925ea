/**
 * The scope of a quality run: what can have broken since the last run whose guards all passed
 * (quality.coverage), or everything. It is written, in the job's transaction, into the quality.*
 * tables the checks read (migration 0006; see quality-job.ts for each table).
 */
import type { PoolClient } from '@lambdamart/core';
import type { JobContext } from '../../runner/job.ts';
import { type FactTable, factTables, partitionRange } from '../../shared/fact-tables.ts';
import { loadWarehouseSql } from '../../shared/warehouse-sql.ts';

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
  await wh.query(await loadWarehouseSql('quality/scope_everything', { literals: { new_partitions: oidArray(partitions) } }));
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
  const { xmax, running } = thirtyTwoBitXids(covered.snapshot);
  const literals = {
    facts_run_id: covered.factsRunId,
    covered_snapshot: covered.snapshot,
    first_new_xid: xmax,
    running_xids: `{${running.join(',')}}`,
    new_partitions: oidArray(newPartitions),
  };
  await wh.query(await loadWarehouseSql('quality/scope_changes', { literals }));
}

/** The partitions' oids as a PostgreSQL array literal. */
const oidArray = (partitions: readonly FactPartition[]) => `{${partitions.map((p) => p.oid).join(',')}}`;

/** A snapshot's xmax and running xids ("xmin:xmax:xip,...", 64-bit) as 32-bit xids. */
export function thirtyTwoBitXids(snapshot: string): { xmax: string; running: string[] } {
  const [, xmax = '0', running = ''] = snapshot.split(':');
  const low = (xid: string) => (BigInt(xid) % 4294967296n).toString();
  return { xmax: low(xmax), running: running ? running.split(',').map(low) : [] };
}

/** Records this run's scope as checked (after the filters are saved: saveFilters). */
export async function recordCoverage(wh: PoolClient, scope: Scope): Promise<void> {
  const literals = { snapshot: scope.snapshot, facts_run_id: scope.factsRunId, fact_partitions: oidArray(scope.partitions) };
  await wh.query(await loadWarehouseSql('quality/record_coverage', { literals }));
}
