/**
 * The replica's upkeep: the fact columns the analytics read, kept as a DuckDB file in
 * LAKE_DIR/_analytics and refreshed from the facts runs' change log (fact_load_dates): the days
 * loaded since, and the sales of the products whose versions changed (the dimensions job
 * re-points their facts). The replica is trusted only while its id matches the analytics_replica
 * row, which the job's transaction writes after the file: a run that dies in between leaves them
 * different, and the next run rebuilds it, copying every fact column out over connections that
 * share the job's snapshot (so both cores work).
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Pool, PoolClient } from '@lambdamart/core';
import type { JobContext } from '../../runner/job.ts';
import { copyQueryToFile } from '../../shared/copy.ts';
import { quote } from '../../shared/lake.ts';
import type { Steps } from './outputs.ts';

export interface ReplicaTable {
  table: string;
  /** The columns the models read, with their DuckDB types. */
  columns: readonly (readonly [string, string])[];
}

/**
 * What the replica keeps. Dates travel as days since 1970 (an integer is cheaper to print and
 * to parse than a date). The product versions' validity only tells which versions changed.
 */
export const replicaTables: readonly ReplicaTable[] = [
  {
    table: 'fact_sales',
    columns: [
      ['transaction_id', 'UUID'],
      ['user_id', 'VARCHAR'],
      ['product_id', 'VARCHAR'],
      ['product_id_pk', 'INTEGER'],
      ['quantity', 'INTEGER'],
      ['total_amount', 'DECIMAL(14,2)'],
      ['event_date', 'DATE'],
    ],
  },
  {
    table: 'fact_product_views',
    columns: [
      ['product_id', 'VARCHAR'],
      ['event_date', 'DATE'],
    ],
  },
  {
    table: 'fact_cart_events',
    columns: [
      ['product_id', 'VARCHAR'],
      ['event_type', 'VARCHAR'],
      ['event_date', 'DATE'],
    ],
  },
  {
    table: 'dim_products',
    columns: [
      ['product_id_pk', 'INTEGER'],
      ['product_id', 'VARCHAR'],
      ['category', 'VARCHAR'],
      ['is_current', 'BOOLEAN'],
      ['effective_from', 'VARCHAR'],
      ['effective_to', 'VARCHAR'],
    ],
  },
];

export const factTables = replicaTables.filter((t) => t.table.startsWith('fact_'));

/** The warehouse's rfm_analysis rows of the analysis date, as a scheduled run finds them. */
export const rfmBefore: ReplicaTable = {
  table: 'rfm_analysis',
  columns: [
    ['analysis_date', 'DATE'],
    ['user_id', 'VARCHAR'],
    ['recency_days', 'INTEGER'],
    ['frequency_count', 'BIGINT'],
    ['monetary_value', 'DECIMAL(14,2)'],
    ['recency_score', 'SMALLINT'],
    ['frequency_score', 'SMALLINT'],
    ['monetary_score', 'SMALLINT'],
    ['rfm_segment', 'VARCHAR'],
  ],
};
export const dimProducts = replicaTables.find((t) => t.table === 'dim_products') as ReplicaTable;

/** PostgreSQL's side of a replica table's CSV. */
export function exportQuery(t: ReplicaTable, where = ''): string {
  const columns = t.columns.map(([c, type]) => (type === 'DATE' ? `${c} - date '1970-01-01'` : type === 'BOOLEAN' ? `${c}::text` : c));
  return `select ${columns.join(', ')} from ${t.table}${where ? ` where ${where}` : ''}`;
}

/** DuckDB's side: the CSV's rows in the replica's types. */
export function readCsv(t: ReplicaTable, file: string): string {
  const csvColumns = t.columns.map(([c, type]) => `'${c}': '${type === 'DATE' ? 'INTEGER' : type}'`).join(', ');
  const columns = t.columns.map(([c, type]) => (type === 'DATE' ? `date '1970-01-01' + ${c} as ${c}` : c));
  return `select ${columns.join(', ')}
          from read_csv(${quote(file)}, header = false, auto_detect = false, delim = ',', quote = '"', escape = '"', columns = {${csvColumns}})`;
}

export const createTable = (t: ReplicaTable, name: string) =>
  `create table ${name} (${t.columns.map(([c, type]) => `${c} ${type}`).join(', ')})`;

export interface ReplicaState {
  replicaId: string;
  /** The replica's sales and product versions hold every load of the facts runs up to this one. */
  salesRunId: number;
  /** Its views and cart events, up to this one (only the runs that read them all refresh them). */
  eventsRunId: number;
  /** product_performance was last written from this replica. */
  performanceCurrent: boolean;
}

export const replicaDir = (lakeDir: string) => join(resolve(lakeDir), '_analytics');
export const replicaFile = (lakeDir: string) => join(replicaDir(lakeDir), 'replica.duckdb');

export async function recordReplica(wh: PoolClient, state: ReplicaState): Promise<void> {
  await wh.query(
    `insert into analytics_replica (replica_id, sales_run_id, events_run_id, performance_current) values ($1, $2, $3, $4)
     on conflict (id) do update
     set replica_id = excluded.replica_id, sales_run_id = excluded.sales_run_id, events_run_id = excluded.events_run_id,
         performance_current = excluded.performance_current, updated_at = now()`,
    [state.replicaId, state.salesRunId, state.eventsRunId, state.performanceCurrent],
  );
}

/**
 * Connections beside the job's that read its snapshot (pg_export_snapshot, as pg_dump -j does):
 * the exports run at once, and all of them see the same facts as the change log read first.
 */
export class SnapshotReaders {
  private constructor(
    private readonly pool: Pool,
    private readonly snapshot: string,
  ) {}

  static async of(wh: PoolClient, pool: Pool): Promise<SnapshotReaders> {
    const { rows } = await wh.query<{ id: string }>('select pg_export_snapshot() as id');
    return new SnapshotReaders(pool, rows[0]?.id ?? '');
  }

  async read<T>(use: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let failed = false;
    try {
      await client.query('begin isolation level repeatable read read only');
      await client.query(`set transaction snapshot '${this.snapshot}'`);
      await client.query("set local time zone 'UTC'");
      const result = await use(client);
      await client.query('commit');
      return result;
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      // A connection that failed mid-COPY is closed rather than handed to the next job.
      client.release(failed);
    }
  }
}

/** One table's rows to copy into DuckDB: `where` filters the export, `into` receives the rows. */
export interface CopyIn {
  table: ReplicaTable;
  where?: string;
  into: string;
}

/**
 * Copies each table out of the warehouse (three at once) and into DuckDB as each arrives, one
 * load at a time; returns the rows copied.
 */
export async function copyIntoDuckdb(
  duck: DuckDBConnection,
  readers: SnapshotReaders,
  work: string,
  copies: readonly CopyIn[],
  steps: Steps,
): Promise<number> {
  const lanes = 3;
  const queue = [...copies];
  let loads: Promise<unknown> = Promise.resolve();
  let rows = 0;
  const lane = async () => {
    for (let copy = queue.shift(); copy; copy = queue.shift()) {
      const { table, where, into } = copy;
      const file = join(work, `${into.replace('.', '_')}.csv`);
      const exported = await steps.time(`export ${table.table}`, () =>
        readers.read((client) => copyQueryToFile(client, exportQuery(table, where), file)),
      );
      rows += exported;
      loads = loads.then(() =>
        steps.time(`load ${table.table}`, async () => {
          await duck.run(`insert into ${into} ${readCsv(table, file)}`);
          await rm(file);
        }),
      );
    }
  };
  // Every export and load settles before the first failure is thrown: DuckDB must be idle to close.
  const exports = await Promise.allSettled(Array.from({ length: lanes }, lane));
  await loads;
  const failed = exports.find((e) => e.status === 'rejected');
  if (failed) throw failed.reason;
  return rows;
}

/** The last facts run whose loads the snapshot holds (0: none logged). */
export async function lastFactsRun(client: PoolClient): Promise<number> {
  const { rows } = await client.query<{ id: number }>('select coalesce(max(run_id), 0)::bigint as id from fact_load_dates');
  return rows[0]?.id ?? 0;
}

/** Attaches the replica file as `replica` if it is the one recorded; false (nothing attached) if not. */
export async function attachReplica(duck: DuckDBConnection, lakeDir: string, replicaId: string): Promise<boolean> {
  try {
    await duck.run(`attach ${quote(replicaFile(lakeDir))} as replica`);
  } catch {
    return false; // missing or unreadable: rebuilt
  }
  const meta = await duck.runAndReadAll('select replica_id from replica.meta').catch(() => undefined);
  if (meta?.getRows()[0]?.[0] === replicaId) return true;
  await duck.run('detach replica');
  return false;
}

/** The replica to refresh (attached as `replica`), or why it must be rebuilt. */
export async function checkReplica(
  ctx: JobContext,
  duck: DuckDBConnection,
  readers: SnapshotReaders,
  factsRunId: number,
): Promise<{ state: ReplicaState } | { rebuild: string }> {
  const { rows } = await ctx.wh.query<{ replica_id: string; sales_run_id: number; events_run_id: number; performance_current: boolean }>(
    'select replica_id, sales_run_id, events_run_id, performance_current from analytics_replica',
  );
  const recorded = rows[0];
  if (!recorded) return { rebuild: 'no replica recorded' };
  const state: ReplicaState = {
    replicaId: recorded.replica_id,
    salesRunId: recorded.sales_run_id,
    eventsRunId: recorded.events_run_id,
    performanceCurrent: recorded.performance_current,
  };
  if (!(await attachReplica(duck, ctx.config.lakeDir, state.replicaId))) return { rebuild: 'the replica file is not the recorded one' };
  // A full refresh of the facts may also have removed rows: the log cannot say which.
  const rebuilt = await readers.read((client) =>
    client.query(
      `select 1 from job_runs
       where job_name = 'facts' and run_id > $1 and status not in ('failed', 'skipped') and params->>'fullRefresh' = 'true'`,
      [Math.min(state.salesRunId, state.eventsRunId)],
    ),
  );
  const why = factsRunId < state.salesRunId ? 'the facts log is behind the replica' : rebuilt.rowCount ? 'the facts were rebuilt' : '';
  if (!why) return { state };
  await duck.run('detach replica');
  return { rebuild: why };
}

/** Writes the replica (DuckDB's tables of the facts) to a new file, then renames it into place. */
export async function saveReplica(duck: DuckDBConnection, lakeDir: string, work: string, state: ReplicaState): Promise<void> {
  try {
    const file = join(work, 'replica.duckdb');
    await duck.run(`attach ${quote(file)} as saved`);
    for (const { table } of replicaTables) await duck.run(`create table saved.${table} as select * from memory.${table}`);
    await duck.run(`create table saved.meta as select '${state.replicaId}' as replica_id`);
    await duck.run('detach saved');
    await mkdir(replicaDir(lakeDir), { recursive: true });
    // A write-ahead log left by a killed run belongs to the old file: it must not replay onto this one.
    await rm(`${replicaFile(lakeDir)}.wal`, { force: true });
    await rename(file, replicaFile(lakeDir));
  } finally {
    duck.closeSync();
  }
}

export interface Changes {
  /** The days loaded since the last run (the replica's sales): product_performance's days. */
  changedDays: readonly string[];
  /** Per fact table, its days loaded since the replica's copy of it. */
  staleDays: Readonly<Record<string, readonly string[]>>;
  /** Products whose versions changed: their sales are copied again. */
  repointed: readonly string[];
  /** Products whose current category changed: their product_performance rows, every day. */
  recategorized: readonly string[];
  dimRows: number;
}

/**
 * What changed since the replica was made: the days the facts runs loaded, the products whose
 * versions changed (the current versions copied into DuckDB's dim_products). Also kept as DuckDB
 * tables, for the queries below.
 */
export async function findChanges(
  duck: DuckDBConnection,
  readers: SnapshotReaders,
  work: string,
  before: ReplicaState,
  steps: Steps,
): Promise<Changes> {
  const { rows: loads } = await readers.read((client) =>
    client.query<{ fact: string; date: string; run_id: number }>(
      `select fact, event_date::text as date, max(run_id)::bigint as run_id from fact_load_dates
       where run_id > $1 group by fact, event_date order by 1, 2`,
      [Math.min(before.salesRunId, before.eventsRunId)],
    ),
  );
  const since = (fact: string) => (fact === 'fact_sales' ? before.salesRunId : before.eventsRunId);
  const staleDays = Object.fromEntries(
    factTables.map(({ table }) => [table, loads.filter((l) => l.fact === table && l.run_id > since(table)).map((l) => l.date)]),
  );
  const changedDays = [...new Set(loads.filter((l) => l.run_id > before.salesRunId).map((l) => l.date))].sort();

  await duck.run(createTable(dimProducts, 'dim_products'));
  const dimRows = await copyIntoDuckdb(duck, readers, work, [{ table: dimProducts, into: 'dim_products' }], steps);
  const repointed = await productsWhere(duck, versionsChanged);
  const recategorized = await productsWhere(duck, categoryChanged);
  await textTable(
    duck,
    'stale_days (fact varchar, day varchar)',
    Object.entries(staleDays).flatMap(([fact, days]) => days.map((day) => [fact, day])),
  );
  await textTable(
    duck,
    'changed_days (day varchar)',
    changedDays.map((day) => [day]),
  );
  await textTable(
    duck,
    'repointed_products (product_id varchar)',
    repointed.map((p) => [p]),
  );
  await textTable(
    duck,
    'recategorized_products (product_id varchar)',
    recategorized.map((p) => [p]),
  );
  return { changedDays, staleDays, repointed, recategorized, dimRows };
}

/** Product versions that differ between the replica and the warehouse: their sales may point at other versions now. */
export const versionsChanged = `
  select product_id from (select * from replica.dim_products except select * from memory.dim_products)
  union
  select product_id from (select * from memory.dim_products except select * from replica.dim_products)`;

/** Products whose current category changed (or who gained or lost a current version). */
export const categoryChanged = `
  with before as (select product_id, category from replica.dim_products where is_current and product_id_pk <> -1),
  now as (select product_id, category from memory.dim_products where is_current and product_id_pk <> -1)
  select coalesce(b.product_id, n.product_id) as product_id
  from before b full join now n on n.product_id = b.product_id
  where b.category is distinct from n.category`;

export async function productsWhere(duck: DuckDBConnection, query: string): Promise<string[]> {
  const result = await duck.runAndReadAll(`${query} order by 1`);
  return result.getRows().map((row) => String(row[0]));
}

/** A DuckDB table of text columns, `definition` as "name (column varchar, ...)", holding `rows`. */
export async function textTable(duck: DuckDBConnection, definition: string, rows: readonly (readonly string[])[]): Promise<void> {
  await duck.run(`create table ${definition}`);
  const appender = await duck.createAppender(definition.slice(0, definition.indexOf(' ')));
  for (const row of rows) {
    for (const value of row) appender.appendVarchar(value);
    appender.endRow();
  }
  appender.closeSync();
}

/**
 * A fact table's rows to copy again, into DuckDB's changed_<fact> (`where` empty: none): the
 * stale days of the replica's sales (and the sales of the re-pointed products), and of its views
 * and cart events when the run reads them all, else only the days changed since the last run.
 * PostgreSQL selects them with lists of literals: the dates prune the month partitions.
 */
export function changedRows(wh: PoolClient, table: ReplicaTable, changes: Changes, allEvents: boolean): CopyIn {
  const inList = (values: readonly string[]) => `(${values.map((v) => wh.escapeLiteral(v)).join(', ')})`;
  const sales = table.table === 'fact_sales';
  const days = sales || allEvents ? (changes.staleDays[table.table] ?? []) : changes.changedDays;
  const products = sales ? changes.repointed : [];
  const where = [
    ...(days.length > 0 ? [`event_date in ${inList(days)}`] : []),
    ...(products.length > 0 ? [`product_id in ${inList(products)}`] : []),
  ];
  return { table, where: where.join(' or '), into: `changed_${table.table}` };
}

/** The replica's rows that changed_<fact> replaces, found through DuckDB's tables of those days and products. */
export function inReplica(table: string): string {
  const stale = `event_date in (select cast(day as date) from stale_days where fact = '${table}')`;
  return table === 'fact_sales' ? `${stale} or product_id in (select product_id from repointed_products)` : stale;
}
