/**
 * A full refresh of the facts: every fact row computed in DuckDB from the full history (lake +
 * unarchived rows), loaded into new partitions in schema fact_build over two connections beside
 * the job's transaction (binary COPY, then the indexes, both cores busy), and swapped in inside
 * the job's transaction: a crash leaves the previous facts, and the half-built tables until the
 * next full refresh drops them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { PoolClient } from '@lambdamart/core';
import { loadModel } from '@lambdamart/warehouse';
import type { JobContext, JobResult } from '../../runner/job.ts';
import { copyDuckdbToTable, copyQueryToFile } from '../../shared/copy.ts';
import { type FactTable, factTables } from '../../shared/fact-tables.ts';
import { type FullHistory, withFullHistory } from '../../shared/full-history.ts';
import { lakeDatasets, quote } from '../../shared/lake.ts';
import { createStagingTables, StagingTables } from '../../shared/staging.ts';
import { nextWatermark } from '../../shared/window.ts';
import { type BuiltFact, type DateRange, dropBuildTables, indexStatements, type Lane, loadFact, swapIn } from './fact-build.ts';
import { conformDimensions, lookbackStart, stagedKinds, sum } from './incremental.ts';

export async function rebuildFacts(ctx: JobContext): Promise<JobResult> {
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
