/**
 * The DuckDB engine, the default: runs the analytics models (the SQL PostgreSQL and DuckDB share)
 * in-process on the replica of the fact columns they read (replica.ts). A scheduled run
 * recomputes product_performance for the days loaded since the last run and for the products
 * whose current category changed; RFM, segments and trends (as of the analysis date, over all
 * history) are recomputed from the whole replica. The results go back with COPY, in the job's
 * transaction, while DuckDB computes the next one. A full refresh always rebuilds the replica.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { PoolClient } from '@lambdamart/core';
import { loadModel } from '@lambdamart/warehouse';
import type { JobContext } from '../../runner/job.ts';
import { copyFileToTable } from '../../shared/copy.ts';
import { quote } from '../../shared/lake.ts';
import {
  type AnalyticsModel,
  type AnalyticsRefresh,
  type AnalyticsRun,
  analyticsModels,
  analyticsOutputs,
  clearOutput,
  type PerformanceScope,
  Steps,
  sum,
} from './outputs.ts';
import {
  changedRows,
  checkReplica,
  copyIntoDuckdb,
  createTable,
  factTables,
  findChanges,
  inReplica,
  lastFactsRun,
  productsWhere,
  type ReplicaState,
  recordReplica,
  replicaTables,
  rfmBefore,
  SnapshotReaders,
  saveReplica,
} from './replica.ts';

export async function buildWithDuckdb(ctx: JobContext, analysisDate: string, refresh: AnalyticsRefresh): Promise<AnalyticsRun> {
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
