/**
 * The heavy analytics (product performance, RFM, customer segments, sales trends): one SQL file
 * each, in the SQL PostgreSQL and DuckDB share, run by either engine.
 *
 * - PostgreSQL, the benchmark's baseline and the reference the equality test compares against,
 *   runs the files in the warehouse and replaces every output.
 * - DuckDB, the default, runs them in-process on a replica of the fact columns they read, kept
 *   as a DuckDB file in LAKE_DIR/_analytics and refreshed from the facts runs' change log
 *   (fact_load_dates): each run copies out of the warehouse only the days loaded since, and the
 *   sales of the products whose versions changed (the dimensions job re-points their facts).
 *   A scheduled run then recomputes product_performance for those days and for the products
 *   whose current category changed; RFM, segments and trends (as of the analysis date, over all
 *   history) are recomputed from the whole replica. The results go back with COPY, in the job's
 *   transaction, while DuckDB computes the next one.
 *
 * The replica is trusted only while its id matches the analytics_replica row, which the job's
 * transaction writes after the file: a run that dies in between leaves them different, and the
 * next run rebuilds the replica, copying every fact column out over connections that share the
 * job's snapshot (so both cores work). A full refresh always rebuilds it.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { Pool, PoolClient } from '@lambdamart/core';
import { loadModel } from '@lambdamart/warehouse';
import { copyFileToTable, copyQueryToFile } from './copy.ts';
import type { AnalyticsEngine, JobContext } from './job.ts';
import { quote } from './lake.ts';

export interface AnalyticsOutput {
  table: string;
  columns: readonly string[];
  /** The order DuckDB writes the rows in: the primary key's, cheaper for its index. */
  key: string;
}

export const analyticsOutputs = {
  product_performance: {
    table: 'product_performance',
    columns: [
      'analysis_date',
      'product_id',
      'category',
      'total_sales',
      'total_quantity',
      'total_revenue',
      'total_views',
      'total_cart_adds',
      'conversion_rate',
      'avg_price',
    ],
    key: 'analysis_date, product_id',
  },
  rfm_analysis: {
    table: 'rfm_analysis',
    columns: [
      'analysis_date',
      'user_id',
      'recency_days',
      'frequency_count',
      'monetary_value',
      'recency_score',
      'frequency_score',
      'monetary_score',
      'rfm_segment',
    ],
    key: 'analysis_date, user_id',
  },
  customer_segments: {
    table: 'customer_segments',
    columns: ['segment_name', 'customer_count', 'total_revenue', 'avg_order_value'],
    key: 'segment_name',
  },
  sales_trends: {
    table: 'sales_trends',
    columns: [
      'period_type',
      'period_value',
      'period_start',
      'category',
      'total_sales',
      'total_revenue',
      'avg_order_value',
      'total_quantity',
      'growth_rate',
      'analysis_date',
      'is_complete',
    ],
    key: 'period_type, period_value, category',
  },
} as const satisfies Record<string, AnalyticsOutput>;

export type AnalyticsModel = keyof typeof analyticsOutputs;

/** In run order: customer_segments reads the rfm_analysis rows of the same date. */
export const analyticsModels: readonly AnalyticsModel[] = ['product_performance', 'rfm_analysis', 'customer_segments', 'sales_trends'];

/**
 * What a run recomputes:
 * - 'changed': product_performance only for the days and products changed since the last run
 *   (every row when the replica cannot tell), RFM, segments and trends in full;
 * - 'all': every output in full;
 * - 'rebuild': every output in full, and DuckDB's replica rebuilt from the warehouse.
 */
export type AnalyticsRefresh = 'changed' | 'all' | 'rebuild';

/** The product_performance rows recomputed: every product on `dates`, every day of `products`. */
export interface PerformanceScope {
  dates: readonly string[];
  products: readonly string[];
}

export interface AnalyticsRun {
  /** DuckDB: whether the replica was refreshed or rebuilt (and why). */
  replica?: string;
  /** The product_performance rows recomputed: all, or those of so many days and products. */
  performance: 'all' | { dates: number; products: number };
  rowsIn: number;
  rowsOut: number;
  perModel: Record<AnalyticsModel, number>;
  /** Wall-clock seconds per step (steps may overlap): where the time goes. */
  steps: Record<string, number>;
}

/** Replaces the analytics of `analysisDate` inside the job's transaction. */
export async function buildAnalytics(
  ctx: JobContext,
  engine: AnalyticsEngine,
  analysisDate: string,
  refresh: AnalyticsRefresh,
): Promise<AnalyticsRun> {
  return engine === 'duckdb' ? buildWithDuckdb(ctx, analysisDate, refresh) : buildWithPostgres(ctx.wh, analysisDate);
}

/**
 * Empties the rows a run replaces. A whole product_performance is truncated: far cheaper than
 * deleting its ~700,000 rows, and readers wait for the job's commit rather than see it empty.
 */
async function clearOutput(wh: PoolClient, model: AnalyticsModel, analysisDate: string, scope: PerformanceScope | null): Promise<void> {
  switch (model) {
    case 'product_performance':
      if (!scope) {
        await wh.query('truncate product_performance');
        return;
      }
      await wh.query('delete from product_performance where analysis_date = any($1::date[])', [scope.dates]);
      if (scope.products.length > 0) await wh.query('delete from product_performance where product_id = any($1::text[])', [scope.products]);
      return;
    case 'rfm_analysis':
      await wh.query('delete from rfm_analysis where analysis_date = $1', [analysisDate]);
      return;
    default:
      await wh.query(`delete from ${analyticsOutputs[model].table}`);
  }
}

class Steps {
  readonly seconds: Record<string, number> = {};

  async time<T>(name: string, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.seconds[name] = Math.round(performance.now() - started) / 1000;
    }
  }
}

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

// ---------------------------------------------------------------- PostgreSQL

async function buildWithPostgres(wh: PoolClient, analysisDate: string): Promise<AnalyticsRun> {
  const steps = new Steps();
  // product_performance no longer comes from DuckDB's replica: DuckDB must not refresh it in part.
  await wh.query('update analytics_replica set performance_current = false');
  const perModel = {} as Record<AnalyticsModel, number>;
  for (const model of analyticsModels) {
    const out = analyticsOutputs[model];
    await steps.time(model, async () => {
      await clearOutput(wh, model, analysisDate, null);
      const sql = await loadModel(model, { analysis_date: analysisDate });
      const inserted = await wh.query(`insert into ${out.table} (${out.columns.join(', ')}) ${sql}`);
      perModel[model] = inserted.rowCount ?? 0;
    });
  }
  const { rows } = await wh.query<{ n: number }>('select count(*)::bigint as n from fact_sales');
  return { performance: 'all', rowsIn: rows[0]?.n ?? 0, rowsOut: sum(perModel), perModel, steps: steps.seconds };
}

// ---------------------------------------------------------------- DuckDB: the replica

interface ReplicaTable {
  table: string;
  /** The columns the models read, with their DuckDB types. */
  columns: readonly (readonly [string, string])[];
}

/**
 * What the replica keeps. Dates travel as days since 1970 (an integer is cheaper to print and
 * to parse than a date). The product versions' validity only tells which versions changed.
 */
const replicaTables: readonly ReplicaTable[] = [
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

const factTables = replicaTables.filter((t) => t.table.startsWith('fact_'));

/** The warehouse's rfm_analysis rows of the analysis date, as a scheduled run finds them. */
const rfmBefore: ReplicaTable = {
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
const dimProducts = replicaTables.find((t) => t.table === 'dim_products') as ReplicaTable;

/** PostgreSQL's side of a replica table's CSV. */
function exportQuery(t: ReplicaTable, where = ''): string {
  const columns = t.columns.map(([c, type]) => (type === 'DATE' ? `${c} - date '1970-01-01'` : type === 'BOOLEAN' ? `${c}::text` : c));
  return `select ${columns.join(', ')} from ${t.table}${where ? ` where ${where}` : ''}`;
}

/** DuckDB's side: the CSV's rows in the replica's types. */
function readCsv(t: ReplicaTable, file: string): string {
  const csvColumns = t.columns.map(([c, type]) => `'${c}': '${type === 'DATE' ? 'INTEGER' : type}'`).join(', ');
  const columns = t.columns.map(([c, type]) => (type === 'DATE' ? `date '1970-01-01' + ${c} as ${c}` : c));
  return `select ${columns.join(', ')}
          from read_csv(${quote(file)}, header = false, auto_detect = false, delim = ',', quote = '"', escape = '"', columns = {${csvColumns}})`;
}

const createTable = (t: ReplicaTable, name: string) => `create table ${name} (${t.columns.map(([c, type]) => `${c} ${type}`).join(', ')})`;

interface ReplicaState {
  replicaId: string;
  /** The replica's sales and product versions hold every load of the facts runs up to this one. */
  salesRunId: number;
  /** Its views and cart events, up to this one (only the runs that read them all refresh them). */
  eventsRunId: number;
  /** product_performance was last written from this replica. */
  performanceCurrent: boolean;
}

const replicaDir = (lakeDir: string) => join(resolve(lakeDir), '_analytics');
const replicaFile = (lakeDir: string) => join(replicaDir(lakeDir), 'replica.duckdb');

async function recordReplica(wh: PoolClient, state: ReplicaState): Promise<void> {
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
class SnapshotReaders {
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
    let failure: Error | undefined;
    try {
      await client.query('begin isolation level repeatable read read only');
      await client.query(`set transaction snapshot '${this.snapshot}'`);
      await client.query("set local time zone 'UTC'");
      const result = await use(client);
      await client.query('commit');
      return result;
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      // A connection that failed mid-COPY is closed rather than handed to the next job.
      client.release(failure);
    }
  }
}

/** One table's rows to copy into DuckDB: `where` filters the export, `into` receives the rows. */
interface CopyIn {
  table: ReplicaTable;
  where?: string;
  into: string;
}

/**
 * Copies each table out of the warehouse (three at once) and into DuckDB as each arrives, one
 * load at a time; returns the rows copied.
 */
async function copyIntoDuckdb(
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
async function lastFactsRun(client: PoolClient): Promise<number> {
  const { rows } = await client.query<{ id: number }>('select coalesce(max(run_id), 0)::bigint as id from fact_load_dates');
  return rows[0]?.id ?? 0;
}

/** Attaches the replica file as `replica` if it is the one recorded; false (nothing attached) if not. */
async function attachReplica(duck: DuckDBConnection, lakeDir: string, replicaId: string): Promise<boolean> {
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
async function checkReplica(
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

// ---------------------------------------------------------------- DuckDB: a run

async function buildWithDuckdb(ctx: JobContext, analysisDate: string, refresh: AnalyticsRefresh): Promise<AnalyticsRun> {
  const steps = new Steps();
  const work = await mkdtemp(join(tmpdir(), 'lambdamart-analytics-'));
  const instance = await DuckDBInstance.create(':memory:', { threads: '2', memory_limit: '2GB' });
  const duck = await instance.connect();
  try {
    await duck.run(duckdbRoundRatio);
    const readers = await SnapshotReaders.of(ctx.wh, ctx.pools.warehouse);
    const factsRunId = await readers.read(lastFactsRun);
    const replica =
      refresh === 'rebuild'
        ? { rebuild: 'a full refresh' }
        : await steps.time('check replica', () => checkReplica(ctx, duck, readers, factsRunId));
    const run =
      'rebuild' in replica
        ? await rebuildReplica(ctx, instance, duck, readers, work, analysisDate, factsRunId, steps)
        : await refreshReplica(ctx, duck, readers, work, analysisDate, replica.state, factsRunId, refresh === 'changed', steps);
    return { ...run, replica: 'rebuild' in replica ? `rebuilt: ${replica.rebuild}` : 'refreshed', steps: steps.seconds };
  } finally {
    duck.closeSync();
    instance.closeSync();
    await rm(work, { recursive: true, force: true });
  }
}

/** Every fact column copied out into DuckDB, every output recomputed, the replica saved anew. */
async function rebuildReplica(
  ctx: JobContext,
  instance: DuckDBInstance,
  duck: DuckDBConnection,
  readers: SnapshotReaders,
  work: string,
  analysisDate: string,
  factsRunId: number,
  steps: Steps,
): Promise<Omit<AnalyticsRun, 'steps' | 'replica'>> {
  for (const table of replicaTables) await duck.run(createTable(table, table.table));
  const copies = replicaTables.map((table) => ({ table, into: table.table }));
  const rowsIn = await copyIntoDuckdb(duck, readers, work, copies, steps);
  const state: ReplicaState = { replicaId: randomUUID(), salesRunId: factsRunId, eventsRunId: factsRunId, performanceCurrent: true };
  // DuckDB saves the replica on a second connection while the models run and PostgreSQL loads.
  const [results, saved] = await Promise.allSettled([
    computeAndCopy(ctx.wh, duck, work, analysisDate, { scope: null, rfmBefore: false }, steps),
    steps.time('save replica', async () => saveReplica(await instance.connect(), ctx.config.lakeDir, work, state)),
  ]);
  if (results.status === 'rejected') throw results.reason;
  if (saved.status === 'rejected') throw saved.reason;
  await recordReplica(ctx.wh, state);
  return { performance: 'all', rowsIn, rowsOut: sum(results.value), perModel: results.value };
}

/** Writes the replica (DuckDB's tables of the facts) to a new file, then renames it into place. */
async function saveReplica(duck: DuckDBConnection, lakeDir: string, work: string, state: ReplicaState): Promise<void> {
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

/**
 * The replica refreshed with what changed since it was made, then every model run. When
 * `onlyChanged`, product_performance is recomputed only for the days and products that changed
 * (if the table is the replica's), and only the rfm_analysis rows that differ are rewritten.
 *
 * Every run refreshes the replica's sales (RFM and trends read them all). Views and cart events
 * only product_performance reads: a run that recomputes it for the changed days only copies
 * those days' into DuckDB and leaves the replica's behind; a run that reads them all (every
 * product_performance row, or every day of a product whose category changed) catches up first.
 */
async function refreshReplica(
  ctx: JobContext,
  duck: DuckDBConnection,
  readers: SnapshotReaders,
  work: string,
  analysisDate: string,
  before: ReplicaState,
  factsRunId: number,
  onlyChanged: boolean,
  steps: Steps,
): Promise<Omit<AnalyticsRun, 'steps' | 'replica'>> {
  const changes = await steps.time('changes', () => findChanges(duck, readers, work, before, steps));
  const scope = onlyChanged && before.performanceCurrent ? { dates: changes.changedDays, products: changes.recategorized } : null;
  const allEvents = scope === null || scope.products.length > 0;

  // The rows to copy again land in DuckDB tables changed_<fact>, the warehouse's RFM rows of the date with them.
  const copies = factTables.map((table) => changedRows(ctx.wh, table, changes, allEvents));
  if (onlyChanged) copies.push({ table: rfmBefore, where: `analysis_date = date '${analysisDate}'`, into: 'rfm_before' });
  for (const { table, into } of copies) await duck.run(createTable(table, into));
  const rowsIn = await copyIntoDuckdb(
    duck,
    readers,
    work,
    copies.filter((c) => c.where !== ''),
    steps,
  );

  // One DuckDB transaction: the replica changes with its id, or not at all.
  const state: ReplicaState = {
    replicaId: randomUUID(),
    salesRunId: factsRunId,
    eventsRunId: allEvents ? factsRunId : before.eventsRunId,
    performanceCurrent: true,
  };
  await steps.time('update replica', async () => {
    await duck.run('begin transaction');
    for (const { table } of allEvents ? factTables : factTables.filter((t) => t.table === 'fact_sales')) {
      await duck.run(`delete from replica.${table} where ${inReplica(table)}`);
      await duck.run(`insert into replica.${table} select * from changed_${table}`);
    }
    await duck.run('delete from replica.dim_products');
    await duck.run('insert into replica.dim_products select * from memory.dim_products');
    await duck.run(`update replica.meta set replica_id = '${state.replicaId}'`);
    await duck.run('commit');
  });

  await viewFacts(duck, scope === null ? 'all' : allEvents ? 'scope' : 'changed days');
  const perModel = await computeAndCopy(ctx.wh, duck, work, analysisDate, { scope, rfmBefore: onlyChanged }, steps);
  await recordReplica(ctx.wh, state);
  return {
    performance: scope ? { dates: scope.dates.length, products: scope.products.length } : 'all',
    rowsIn: changes.dimRows + rowsIn,
    rowsOut: sum(perModel),
    perModel,
  };
}

interface Changes {
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
async function findChanges(
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
const versionsChanged = `
  select product_id from (select * from replica.dim_products except select * from memory.dim_products)
  union
  select product_id from (select * from memory.dim_products except select * from replica.dim_products)`;

/** Products whose current category changed (or who gained or lost a current version). */
const categoryChanged = `
  with before as (select product_id, category from replica.dim_products where is_current and product_id_pk <> -1),
  now as (select product_id, category from memory.dim_products where is_current and product_id_pk <> -1)
  select coalesce(b.product_id, n.product_id) as product_id
  from before b full join now n on n.product_id = b.product_id
  where b.category is distinct from n.category`;

async function productsWhere(duck: DuckDBConnection, query: string): Promise<string[]> {
  const result = await duck.runAndReadAll(`${query} order by 1`);
  return result.getRows().map((row) => String(row[0]));
}

/** A DuckDB table of text columns, `definition` as "name (column varchar, ...)", holding `rows`. */
async function textTable(duck: DuckDBConnection, definition: string, rows: readonly (readonly string[])[]): Promise<void> {
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
function changedRows(wh: PoolClient, table: ReplicaTable, changes: Changes, allEvents: boolean): CopyIn {
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
function inReplica(table: string): string {
  const stale = `event_date in (select cast(day as date) from stale_days where fact = '${table}')`;
  return table === 'fact_sales' ? `${stale} or product_id in (select product_id from repointed_products)` : stale;
}

// ---------------------------------------------------------------- DuckDB: models and results

/**
 * The DuckDB twin of the warehouse's round_ratio(): n / d rounded half away from zero, computed
 * exactly on integers (n and d have at most two decimals), so both engines give the same digits.
 */
const duckdbRoundRatio = `
create macro round_ratio(n, d, s) as
  case when d is null or d = 0 or n is null then null
  else (case when (n < 0) <> (d < 0) then -1 else 1 end)
     * ((2 * abs(cast(n * 100 as hugeint)) * cast(pow(10, s) as hugeint) + abs(cast(d * 100 as hugeint)))
        // (2 * abs(cast(d * 100 as hugeint))))
     / pow(10, s)
  end`;

/**
 * Runs each model into a DuckDB table of its name (customer_segments reads rfm_analysis) and
 * copies the result into the warehouse while DuckDB computes the next. With a `scope`,
 * product_performance reads the facts through views of the changed days and products only
 * (viewFacts), then the views show all of them again for the others. With `rfmBefore`, only the
 * rfm_analysis rows that differ from DuckDB's rfm_before are rewritten.
 */
async function computeAndCopy(
  wh: PoolClient,
  duck: DuckDBConnection,
  work: string,
  analysisDate: string,
  rewrite: { scope: PerformanceScope | null; rfmBefore: boolean },
  steps: Steps,
): Promise<Record<AnalyticsModel, number>> {
  const { scope } = rewrite;
  const perModel = {} as Record<AnalyticsModel, number>;
  let copies: Promise<unknown> = Promise.resolve();
  try {
    for (const model of analyticsModels) {
      const sql = await loadModel(model, { analysis_date: analysisDate });
      await steps.time(model, () => duck.run(`create table ${model} as ${sql}`));
      if (model === 'product_performance' && scope) await viewFacts(duck, 'all');
      const out = analyticsOutputs[model];
      const file = join(work, `${model}.out.csv`);
      const onlyChanged = model === 'rfm_analysis' && rewrite.rfmBefore;
      const rows = onlyChanged ? await changedRfm(duck) : model;
      await steps.time(`csv ${model}`, () =>
        duck.run(`copy (select ${out.columns.join(', ')} from ${rows} order by ${out.key}) to ${quote(file)} (header false)`),
      );
      const stale = onlyChanged ? await productsWhere(duck, 'select user_id from rfm_stale') : [];
      copies = copies.then(() =>
        steps.time(`copy ${model}`, async () => {
          if (onlyChanged)
            await wh.query('delete from rfm_analysis where analysis_date = $1 and user_id = any($2::text[])', [analysisDate, stale]);
          else await clearOutput(wh, model, analysisDate, scope);
          perModel[model] = await copyFileToTable(wh, file, out.table, out.columns);
        }),
      );
    }
  } finally {
    // The warehouse connection must be idle before anything else uses it, even after a failure.
    await copies.catch(() => undefined);
  }
  await copies;
  return perModel;
}

/**
 * rfm_changed: the rows of DuckDB's rfm_analysis that the warehouse lacks or holds otherwise;
 * rfm_stale: the users whose warehouse row goes (changed, or no longer there). Returns the
 * table of rows to write.
 */
async function changedRfm(duck: DuckDBConnection): Promise<string> {
  const columns = analyticsOutputs.rfm_analysis.columns.join(', ');
  await duck.run(`create table rfm_changed as select ${columns} from rfm_analysis except select ${columns} from rfm_before`);
  await duck.run(`create table rfm_stale as
    select user_id from rfm_changed
    union
    select user_id from (select user_id from rfm_before except select user_id from rfm_analysis)`);
  return 'rfm_changed';
}

/**
 * Views named like the warehouse's fact tables, for the models: the replica's rows, 'all' of
 * them, or only those of the changed days and recategorized products ('scope'); or 'changed
 * days': the replica's sales of those days and DuckDB's fresh copy of their views and cart events.
 */
async function viewFacts(duck: DuckDBConnection, rows: 'all' | 'scope' | 'changed days'): Promise<void> {
  const changedDays = 'event_date in (select cast(day as date) from changed_days)';
  const where = {
    all: '',
    scope: ` where ${changedDays} or product_id in (select product_id from recategorized_products)`,
    'changed days': ` where ${changedDays}`,
  }[rows];
  for (const { table } of factTables) {
    const source = rows === 'changed days' && table !== 'fact_sales' ? `changed_${table}` : `replica.${table}`;
    await duck.run(`create or replace view ${table} as select * from ${source}${source.startsWith('changed_') ? '' : where}`);
  }
}
