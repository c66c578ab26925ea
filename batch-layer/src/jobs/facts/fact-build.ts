/**
 * The tables a full refresh builds beside the live facts, in schema fact_build: one per live
 * partition the history's dates fall in, given the live table's indexes, then swapped in inside
 * the job's transaction.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { PoolClient } from '@lambdamart/core';
import { loadModel } from '@lambdamart/warehouse';
import { copyDuckdbToTable } from '../../shared/copy.ts';
import { type FactTable, partitionRange } from '../../shared/fact-tables.ts';

export interface Partition {
  name: string;
  /** As PostgreSQL prints it: FOR VALUES FROM ('2026-01-01') TO ('2026-02-01'), or DEFAULT. */
  bound: string;
  /** The dates of a FROM/TO bound, which a check constraint then proves on the built table. */
  range?: { from: string; to: string };
}

/** The first and last event date (YYYY-MM-DD) of the full history. */
export interface DateRange {
  first: string;
  last: string;
}

export interface BuiltFact {
  fact: FactTable;
  /** Rows per event date (YYYY-MM-DD). */
  perDate: Map<string, number>;
  partitions: Partition[];
}

/** A warehouse connection beside the job's transaction, with a DuckDB connection of its own. */
export interface Lane {
  wh: PoolClient;
  duck: DuckDBConnection;
}

export async function dropBuildTables(lane: Lane): Promise<void> {
  const { rows } = await lane.wh.query<{ name: string }>(
    `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'fact_build' and c.relkind in ('r', 'p') and not c.relispartition`,
  );
  for (const { name } of rows) await lane.wh.query(`drop table fact_build.${name}`);
}

/**
 * Computes the fact's rows in DuckDB and copies them into new partitions under fact_build.<fact>
 * (the live partitions the history's dates fall in). The rows go in primary key order: building
 * the key's index then finds them sorted (a third to a half cheaper).
 */
export async function loadFact(lane: Lane, fact: FactTable, range: DateRange | null): Promise<BuiltFact> {
  const partitions = range ? (await livePartitions(lane.wh, fact)).filter((p) => overlaps(p, range)) : [];
  await lane.wh.query(
    `create table fact_build.${fact} (like ${fact} including defaults including constraints) partition by range (event_date)`,
  );
  for (const p of partitions) {
    const check = p.range ? `(constraint partition_bound check (event_date >= '${p.range.from}' and event_date < '${p.range.to}'))` : '';
    await lane.wh.query(`create table fact_build.${p.name} partition of fact_build.${fact} ${check} ${p.bound}`);
  }
  const rows = `select * from (${await loadModel(fact)}) as fact_rows order by event_id`;
  const { perDate } = await copyDuckdbToTable(lane.duck, rows, lane.wh, `fact_build.${fact}`, { countBy: 'event_date' });
  return { fact, perDate, partitions };
}

export async function livePartitions(wh: PoolClient, fact: FactTable): Promise<Partition[]> {
  const { rows } = await wh.query<{ name: string; bound: string }>(
    `select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound
     from pg_inherits i join pg_class c on c.oid = i.inhrelid
     where i.inhparent = $1::regclass order by 1`,
    [fact],
  );
  return rows.map(({ name, bound }) => ({ name, bound, range: partitionRange(bound) ?? undefined }));
}

/** Whether a partition may get rows of the range: a dated one that overlaps it, any other but the default. */
function overlaps(partition: Partition, range: DateRange): boolean {
  if (!partition.range) return partition.bound !== 'DEFAULT';
  return partition.range.from <= range.last && partition.range.to > range.first;
}

/**
 * The statements that give a built partition the live table's indexes, so that attaching it
 * adopts them instead of building them (the primary key as a constraint, as the live one).
 */
export async function indexStatements(wh: PoolClient, fact: FactTable): Promise<(partition: string) => string[]> {
  const { rows } = await wh.query<{ primary: boolean; unique: boolean; columns: string[] }>(
    `select i.indisprimary as primary, i.indisunique as unique,
            array(select pg_get_indexdef(i.indexrelid, k, true) from generate_series(1, i.indnkeyatts) k) as columns
     from pg_index i where i.indrelid = $1::regclass`,
    [fact],
  );
  return (partition) =>
    rows.map(({ primary, unique, columns }) =>
      primary
        ? `alter table fact_build.${partition} add primary key (${columns.join(', ')})`
        : `create ${unique ? 'unique ' : ''}index on fact_build.${partition} (${columns.join(', ')})`,
    );
}

/**
 * In the job's transaction: each live partition that has a built one is replaced by it, the
 * other non-empty ones are emptied. Attaching skips the scan (the check constraint proves the
 * bound) and adopts the built indexes.
 */
export async function swapIn(wh: PoolClient, built: BuiltFact): Promise<void> {
  const { fact, partitions } = built;
  const replaced = new Set(partitions.map((p) => p.name));
  const others = (await livePartitions(wh, fact)).filter((p) => !replaced.has(p.name));
  if (others.length > 0) {
    const { rows } = await wh.query<{ name: string }>(
      others.map((p) => `select '${p.name}' as name where exists (select from ${p.name})`).join(' union all '),
    );
    if (rows.length > 0) await wh.query(`truncate ${rows.map((r) => r.name).join(', ')}`);
  }
  for (const p of partitions) {
    await wh.query(`alter table fact_build.${fact} detach partition fact_build.${p.name}`);
    await wh.query(`drop table ${p.name}`);
    await wh.query(`alter table fact_build.${p.name} set schema public`);
    await wh.query(`alter table ${fact} attach partition ${p.name} ${p.bound}`);
    if (p.range) await wh.query(`alter table ${p.name} drop constraint partition_bound`);
  }
  await wh.query(`drop table fact_build.${fact}`);
}
