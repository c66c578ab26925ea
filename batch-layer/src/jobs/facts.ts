/**
 * facts: fact_sales, fact_product_views, fact_cart_events, point-in-time joined to the dimensions
 * by the models of the same names (SQL that PostgreSQL and DuckDB share).
 *
 * - An incremental run stages the raw rows since the watermark (minus the lookback, so rows
 *   committed late are still seen) and inserts the model's rows not loaded yet, in the job's
 *   transaction.
 * - A full refresh computes every fact row in DuckDB from the full history (lake + unarchived
 *   rows), loads them into new partitions in schema fact_build over two connections beside the
 *   job's transaction (binary COPY, then the indexes, both cores busy), and swaps those
 *   partitions in inside the job's transaction: a crash leaves the previous facts, and the half-
 *   built tables until the next full refresh drops them.
 *
 * Every run that loads rows records them per (fact, event date) in fact_load_dates, for the jobs
 * that refresh only the dates that changed.
 *
 * Before it commits, a run checks what it is about to publish (checks.ts: publication guards):
 * the revenue of the orders it staged against their raw totals, in its own snapshot, and the
 * dimension rows of the rows it inserted. A failing guard is recorded outside the transaction
 * and fails the run, which rolls back: the last good warehouse stays.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { PoolClient } from '@lambdamart/core';
import { loadModel } from '@lambdamart/warehouse';
import { DataQualityError, runCheck } from '../checks.ts';
import { copyDuckdbToTable, copyQueryToFile } from '../copy.ts';
import type { JobContext, JobDefinition, JobResult } from '../job.ts';
import { lakeDatasets, quote } from '../lake.ts';
import { type FullHistory, withFullHistory } from '../rebuild.ts';
import { createStagingTables, maxStagedIngestedAt, type StagedKind, StagingTables, stageRaw } from '../staging.ts';
import { defaultLookbackMinutes, extractWindow, nextWatermark } from '../window.ts';

const factTables = ['fact_sales', 'fact_product_views', 'fact_cart_events'] as const;
type FactTable = (typeof factTables)[number];
const stagedKinds: StagedKind[] = ['transactions', 'transactionItems', 'productViews', 'cartEvents'];

export const factsJob: JobDefinition = {
  name: 'facts',
  description: 'fact_sales, fact_product_views, fact_cart_events (incremental, point-in-time)',
  dependsOn: ['dimensions'],
  async run(ctx) {
    const result = await (ctx.options.fullRefresh ? rebuildFacts(ctx) : loadIncrement(ctx));
    await guardPublication(ctx);
    // A ranged run staged only its dates: what it saw says nothing about the rest.
    if (!ctx.options.from && !ctx.options.to) await recordSourceSnapshot(ctx);
    // The serving API's daily sales (warehouse migration 0012), published with these facts.
    const refresh = { run_id: ctx.runId, full_refresh: Boolean(ctx.options.fullRefresh), watermark: result.watermark?.toISOString() ?? '' };
    await ctx.wh.query(await loadModel('../warehouse/sales_daily_refresh', refresh));
    return result;
  },
};

/**
 * The publication guards over what this run wrote, in its transaction: the revenue of the orders
 * in stg_transactions (those it staged; the whole history on a full refresh) and, after an
 * incremental run, the dimension rows of the rows it inserted (loaded_fact_rows). A full
 * refresh's rows hold one row per event id (the history keeps one per key) and join the
 * dimensions of this transaction. Event ids loaded twice across runs stay with the quality job:
 * looking each new id up in every partition costs seconds per 100,000 rows.
 */
async function guardPublication(ctx: JobContext): Promise<void> {
  const failures = [await runCheck(ctx, 'fact_revenue_matches_raw', { recordPass: false })];
  if (!ctx.options.fullRefresh) {
    failures.push(
      await runCheck(ctx, 'facts_have_dimension_rows', { model: 'checks/guards/loaded_facts_have_dimension_rows', recordPass: false }),
    );
  }
  const failed = failures.filter((f) => f !== null);
  if (failed.length) throw new DataQualityError(failed);
}

/** The realtime snapshot this run read, for the quality job's revenue check (migration 0008). */
async function recordSourceSnapshot(ctx: JobContext): Promise<void> {
  const { rows } = await ctx.rt.query<{ snapshot: string }>('select pg_current_snapshot()::text as snapshot');
  await ctx.wh.query(
    `insert into fact_source_snapshot (run_id, realtime_snapshot) values ($1, $2::pg_snapshot)
     on conflict (only_row) do update set run_id = excluded.run_id, realtime_snapshot = excluded.realtime_snapshot, recorded_at = now()`,
    [ctx.runId, rows[0]?.snapshot],
  );
}

// ---------------------------------------------------------------- incremental

async function loadIncrement(ctx: JobContext): Promise<JobResult> {
  const { wh, rt, options } = ctx;
  const staged = await stageRaw(rt, wh, stagedKinds, extractWindow(ctx.watermark, options));
  await conformDimensions(wh);
  const watermark = nextWatermark(ctx.watermark, await maxStagedIngestedAt(wh, stagedKinds), options);
  const relistedFrom = lookbackStart(watermark ?? ctx.watermark, options);
  // The rows this run inserts, for the publication guards.
  await wh.query(
    `create temp table loaded_fact_rows (
       fact text not null, event_id text not null, event_date date not null, event_time timestamptz not null,
       date_id integer not null, customer_id integer not null, product_id_pk integer not null, geography_id integer not null,
       user_id text not null, product_id text not null
     ) on commit drop`,
  );

  // Bulk point-in-time joins: hash joins on the natural key. The planner otherwise probes the
  // dimensions' indexes row by row, or sorts both sides for a merge join, both far slower here.
  await wh.query('set local enable_nestloop = off');
  await wh.query('set local enable_mergejoin = off');
  const loaded = {} as Record<FactTable, number>;
  for (const fact of factTables) loaded[fact] = await insertNewRows(ctx, fact, relistedFrom);
  if (relistedFrom) await wh.query('delete from fact_lookback_keys where ingested_at <= $1', [relistedFrom]);
  return {
    rowsIn: staged.transactionItems + staged.productViews + staged.cartEvents,
    rowsOut: sum(Object.values(loaded)),
    watermark,
    details: loaded,
  };
}

const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0);

/** From when the next run stages rows again: the watermark minus the lookback (null without a watermark). */
function lookbackStart(watermark: Date | null, options: JobContext['options']): Date | null {
  return watermark ? new Date(watermark.getTime() - (options.lookbackMinutes ?? defaultLookbackMinutes) * 60_000) : null;
}

/**
 * The conformed dimensions every staged event needs (in case the dimensions job saw another
 * window) and the month partitions of the staged events' time range.
 */
async function conformDimensions(wh: PoolClient): Promise<void> {
  await wh.query(await loadModel('dim_date'));
  await wh.query(await loadModel('dim_geography'));
  await wh.query(
    `with times as (
       select transaction_timestamp as at from stg_transactions
       union all select event_timestamp from stg_product_views
       union all select event_timestamp from stg_cart_events),
     dates as (select (min(at) at time zone 'UTC')::date as first, (max(at) at time zone 'UTC')::date as last from times)
     select ensure_month_partitions(fact, dates.first, dates.last)
     from unnest($1::text[]) as fact, dates
     where dates.first is not null`,
    [factTables],
  );
}

/**
 * Inserts the model's rows that are not loaded yet (facts are append-only, keyed by event id),
 * records them per event date, and lists the keys of those the next run stages again; returns
 * how many were inserted.
 *
 * The rows staged again (the lookback) that are listed in fact_lookback_keys are skipped without
 * a probe of the fact partitions; the rest are inserted as they are. Only a row loaded by a
 * ranged run (which leaves the watermark alone), or whose key a crash dropped from the
 * unlogged list, can still be there: then its unique violation sends the insert to the slow
 * path, ON CONFLICT DO NOTHING.
 */
async function insertNewRows(ctx: JobContext, fact: FactTable, relistedFrom: Date | null): Promise<number> {
  const { wh } = ctx;
  const model = await loadModel(fact);
  const eventTime = fact === 'fact_sales' ? 'transaction_timestamp' : 'event_timestamp';
  const described = await wh.query(`select * from (${model}) described limit 0`);
  const columns = described.fields.map((f) => f.name).join(', ');
  const insert = (onConflict: string) =>
    wh.query<{ n: number }>(
      `with loaded as (
         insert into ${fact} (${columns})
         select * from (${model}) as fact_rows
         where not exists (select from fact_lookback_keys k where k.fact = $2 and k.event_id = fact_rows.event_id::text)
         ${onConflict}
         returning event_id, event_date, ingested_at, ${eventTime} as event_time,
                   date_id, customer_id, product_id_pk, geography_id, user_id, product_id
       ),
       kept as (
         insert into loaded_fact_rows
         select $2, event_id::text, event_date, event_time, date_id, customer_id, product_id_pk, geography_id, user_id, product_id
         from loaded
       ),
       recorded as (
         insert into fact_load_dates (run_id, fact, event_date, rows)
         select $1, $2, event_date, count(*) from loaded group by event_date
         returning rows
       ),
       listed as (
         insert into fact_lookback_keys (fact, event_id, ingested_at)
         select $2, event_id::text, ingested_at from loaded where ingested_at > $3
       )
       select coalesce(sum(rows), 0)::bigint as n from recorded`,
      [ctx.runId, fact, relistedFrom],
    );
  await wh.query('savepoint insert_new_rows');
  try {
    const { rows } = await insert('');
    await wh.query('release savepoint insert_new_rows');
    return rows[0]?.n ?? 0;
  } catch (error) {
    if ((error as { code?: string }).code !== '23505') throw error;
    await wh.query('rollback to savepoint insert_new_rows');
    const { rows } = await insert('on conflict (event_id, event_date) do nothing');
    return rows[0]?.n ?? 0;
  }
}

// ---------------------------------------------------------------- full refresh

interface Partition {
  name: string;
  /** As PostgreSQL prints it: FOR VALUES FROM ('2026-01-01') TO ('2026-02-01'), or DEFAULT. */
  bound: string;
  /** The dates of a FROM/TO bound, which a check constraint then proves on the built table. */
  range?: { from: string; to: string };
}

/** The first and last event date (YYYY-MM-DD) of the full history. */
interface DateRange {
  first: string;
  last: string;
}

interface BuiltFact {
  fact: FactTable;
  /** Rows per event date (YYYY-MM-DD). */
  perDate: Map<string, number>;
  partitions: Partition[];
}

/** A warehouse connection beside the job's transaction, with a DuckDB connection of its own. */
interface Lane {
  wh: PoolClient;
  duck: DuckDBConnection;
}

async function rebuildFacts(ctx: JobContext): Promise<JobResult> {
  return withFullHistory(ctx, stagedKinds, async (history) => {
    const range = await conformFullHistory(ctx.wh, history.duck);
    await loadDimensionsInto(history.duck, ctx.wh);
    const built = await withLanes(ctx, history, (lanes) => buildFacts(lanes, range));
    for (const fact of built) await swapIn(ctx.wh, fact);
    await recordLoadDates(ctx, built);
    await stageOrdersForGuard(ctx.wh, history.duck);
    const watermark = nextWatermark(ctx.watermark, await newestIngestedAt(history.duck), ctx.options);
    await relistLookbackKeys(ctx, history.duck, lookbackStart(watermark ?? (await ctx.watermarkOf('facts')), ctx.options));
    const loaded = Object.fromEntries(built.map((b) => [b.fact, sum(b.perDate.values())])) as Record<FactTable, number>;
    ctx.logger.info({ loaded }, 'facts rebuilt and swapped in');
    const { counts } = history;
    return {
      rowsIn: counts.transactionItems + counts.productViews + counts.cartEvents,
      rowsOut: sum(Object.values(loaded)),
      watermark,
      details: loaded,
    };
  });
}

/**
 * dim_date, dim_geography and the partitions for the full history; returns its date range
 * (null without events). The conformed dimensions read the stg_* tables, while a full refresh
 * keeps its events in DuckDB: the job stages stand-ins there instead, a view per country at its
 * first and at its last event time.
 */
async function conformFullHistory(wh: PoolClient, duck: DuckDBConnection): Promise<DateRange | null> {
  const reader = await duck.runAndReadAll(
    `select country, cast(min(event_time) as varchar), cast(max(event_time) as varchar)
     from (select country, transaction_timestamp as event_time from stg_transactions
           union all select country, event_timestamp from stg_product_views
           union all select country, event_timestamp from stg_cart_events)
     group by country`,
  );
  const countries = reader.getRowsJS() as [string, string, string][];
  await createStagingTables(wh);
  await wh.query(
    `insert into ${StagingTables.productViews} (event_id, user_id, product_id, session_id, view_duration, country, event_timestamp, ingested_at)
     select gen_random_uuid(), '', '', '', 0, country, at, at
     from unnest($1::text[] || $1::text[], $2::timestamptz[] || $3::timestamptz[]) as stand_in(country, at)`,
    [countries.map((c) => c[0]), countries.map((c) => c[1]), countries.map((c) => c[2])],
  );
  await conformDimensions(wh);
  const { rows } = await wh.query<{ first: string | null; last: string | null }>(
    `select (min(event_timestamp) at time zone 'UTC')::date::text as first, (max(event_timestamp) at time zone 'UTC')::date::text as last
     from ${StagingTables.productViews}`,
  );
  await wh.query(`truncate ${StagingTables.productViews}`);
  const range = rows[0];
  return range?.first && range.last ? { first: range.first, last: range.last } : null;
}

/** The dimension columns the fact models join on, copied from the job's transaction into DuckDB. */
const dimensionInputs = {
  dim_customers: { customer_id: 'INTEGER', user_id: 'VARCHAR', effective_from: 'TIMESTAMPTZ', effective_to: 'TIMESTAMPTZ' },
  dim_products: { product_id_pk: 'INTEGER', product_id: 'VARCHAR', effective_from: 'TIMESTAMPTZ', effective_to: 'TIMESTAMPTZ' },
  dim_geography: { geography_id: 'INTEGER', country: 'VARCHAR' },
} as const;

async function loadDimensionsInto(duck: DuckDBConnection, wh: PoolClient): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lambdamart-facts-'));
  try {
    for (const [table, columns] of Object.entries(dimensionInputs)) {
      const file = join(dir, `${table}.csv`);
      await copyQueryToFile(wh, `select ${Object.keys(columns).join(', ')} from ${table}`, file);
      const types = Object.entries(columns).map(([c, t]) => `'${c}': '${t}'`);
      await duck.run(
        `create table ${table} as select * from read_csv(${quote(file)}, header = false, auto_detect = false, delim = ',',
           quote = '"', escape = '"', columns = {${types.join(', ')}})`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Two lanes (both cores: PostgreSQL's COPY and index builds are single-threaded per session),
 * each a warehouse connection committing on its own and a DuckDB connection. Leftovers of a
 * full refresh that died are dropped first.
 */
async function withLanes<T>(ctx: JobContext, history: FullHistory, use: (lanes: Lane[]) => Promise<T>): Promise<T> {
  const lanes: Lane[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const wh = await ctx.pools.warehouse.connect();
      const duck = await history.instance.connect();
      lanes.push({ wh, duck });
      await duck.run("set TimeZone = 'UTC'");
      // Like the job's connection: a dead process's builds stop within a second.
      await wh.query("set client_connection_check_interval = '1s'");
      // The two lanes are the parallelism; each index build stays on its core.
      await wh.query('set max_parallel_maintenance_workers = 0');
    }
    await dropBuildTables(lanes[0] as Lane);
    return await use(lanes);
  } finally {
    for (const lane of lanes) {
      lane.duck.closeSync();
      lane.wh.release();
    }
  }
}

async function dropBuildTables(lane: Lane): Promise<void> {
  const { rows } = await lane.wh.query<{ name: string }>(
    `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'fact_build' and c.relkind in ('r', 'p') and not c.relispartition`,
  );
  for (const { name } of rows) await lane.wh.query(`drop table fact_build.${name}`);
}

/**
 * Loads every fact into fact_build, then builds the indexes of its partitions. The biggest load
 * starts first; a lane that is done takes the next task, index builds included, so both cores
 * stay busy to the end.
 */
async function buildFacts(lanes: Lane[], range: DateRange | null): Promise<BuiltFact[]> {
  const built: BuiltFact[] = [];
  const load = (fact: FactTable) => async (lane: Lane) => {
    const result = await loadFact(lane, fact, range);
    built.push(result);
    const indexes = await indexStatements(lane.wh, fact);
    return result.partitions.map((p) => async (next: Lane) => {
      for (const statement of indexes(p.name)) await next.wh.query(statement);
      return [];
    });
  };
  await drain(lanes, [load('fact_product_views'), load('fact_sales'), load('fact_cart_events')]);
  return built;
}

type Task = (lane: Lane) => Promise<Task[]>;

/**
 * Runs the tasks, and the tasks they return, on the lanes, one at a time per lane. After a
 * failure no task starts; the running ones finish (their connections stay busy until then).
 */
async function drain(lanes: Lane[], tasks: Task[]): Promise<void> {
  const queue = [...tasks];
  const running = new Set<Promise<void>>();
  const failures: unknown[] = [];
  const work = async (lane: Lane) => {
    while (failures.length === 0) {
      const task = queue.shift();
      if (!task) {
        if (running.size === 0) return;
        await Promise.race(running);
        continue;
      }
      const run = task(lane).then(
        (next) => {
          queue.push(...next);
        },
        (error: unknown) => {
          failures.push(error);
        },
      );
      running.add(run);
      await run;
      running.delete(run);
    }
  };
  await Promise.all(lanes.map(work));
  if (failures.length > 0) throw failures[0];
}

/**
 * Computes the fact's rows in DuckDB and copies them into new partitions under fact_build.<fact>
 * (the live partitions the history's dates fall in). The rows go in primary key order: building
 * the key's index then finds them sorted (a third to a half cheaper).
 */
async function loadFact(lane: Lane, fact: FactTable, range: DateRange | null): Promise<BuiltFact> {
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

async function livePartitions(wh: PoolClient, fact: FactTable): Promise<Partition[]> {
  const { rows } = await wh.query<{ name: string; bound: string }>(
    `select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound
     from pg_inherits i join pg_class c on c.oid = i.inhrelid
     where i.inhparent = $1::regclass order by 1`,
    [fact],
  );
  return rows.map(({ name, bound }) => {
    const dates = /^FOR VALUES FROM \('([0-9-]+)'\) TO \('([0-9-]+)'\)$/.exec(bound);
    return { name, bound, range: dates ? { from: dates[1] ?? '', to: dates[2] ?? '' } : undefined };
  });
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
async function indexStatements(wh: PoolClient, fact: FactTable): Promise<(partition: string) => string[]> {
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
async function swapIn(wh: PoolClient, built: BuiltFact): Promise<void> {
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

async function recordLoadDates(ctx: JobContext, built: BuiltFact[]): Promise<void> {
  for (const { fact, perDate } of built) {
    await ctx.wh.query(
      `insert into fact_load_dates (run_id, fact, event_date, rows)
       select $1, $2, event_date, rows from unnest($3::date[], $4::bigint[]) as loaded(event_date, rows)`,
      [ctx.runId, fact, [...perDate.keys()], [...perDate.values()]],
    );
  }
}

/** The history's raw orders into the warehouse's stg_transactions, for the revenue guard. */
async function stageOrdersForGuard(wh: PoolClient, duck: DuckDBConnection): Promise<void> {
  const columns = lakeDatasets.find((d) => d.kind === 'transactions')?.staged.join(', ');
  await copyDuckdbToTable(duck, `select ${columns} from ${StagingTables.transactions}`, wh, StagingTables.transactions);
  await wh.query(`analyze ${StagingTables.transactions}`);
}

/** After a full refresh, fact_lookback_keys lists the loaded keys the next run stages again. */
async function relistLookbackKeys(ctx: JobContext, duck: DuckDBConnection, from: Date | null): Promise<void> {
  await ctx.wh.query('truncate fact_lookback_keys');
  if (!from) return;
  for (const fact of factTables) {
    // DuckDB filters the staged rows on ingested_at before the joins: a small query.
    const keys = `select '${fact}' as fact, cast(event_id as varchar) as event_id, ingested_at
                  from (${await loadModel(fact)}) as fact_rows
                  where ingested_at > cast('${from.toISOString()}' as timestamptz)`;
    await copyDuckdbToTable(duck, keys, ctx.wh, 'fact_lookback_keys');
  }
}

/** The newest ingestion time in the full history (milliseconds, like a watermark read from PostgreSQL). */
async function newestIngestedAt(duck: DuckDBConnection): Promise<Date | null> {
  const reader = await duck.runAndReadAll(
    `select epoch_ms(max(newest)) from (select max(ingested_at) as newest from stg_transactions
       union all select max(ingested_at) from stg_product_views
       union all select max(ingested_at) from stg_cart_events)`,
  );
  const ms = reader.getRowsJS()[0]?.[0];
  return ms === null || ms === undefined ? null : new Date(Number(ms));
}
