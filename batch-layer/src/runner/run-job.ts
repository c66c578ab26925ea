/**
 * One job run, atomic: the job's locks (locks.ts) and its work in one warehouse transaction,
 * recorded in job_runs (running -> succeeded | failed). 'succeeded' is written in the job's
 * transaction, so it commits with the work. A crash or kill leaves the transaction uncommitted,
 * so the previous good state stays; the next run of the job marks the orphaned 'running' record
 * failed and does the work again.
 */
import { type BatchRunNotice, BatchRunsChannel, type Config, createPool, type Logger, type Pool } from '@lambdamart/core';
import type { JobContext, JobDefinition, JobReport, RunOptions } from './job.ts';
import { takeLocks } from './locks.ts';

export interface BatchPools {
  realtime: Pool;
  warehouse: Pool;
}

export function createBatchPools(config: Config): BatchPools {
  return {
    realtime: createPool(config.realtimeDatabaseUrl, { max: 4, application: 'lambdamart-batch' }),
    warehouse: createPool(config.warehouseDatabaseUrl, { max: 6, application: 'lambdamart-batch' }),
  };
}

export async function closeBatchPools(pools: BatchPools): Promise<void> {
  await Promise.all([pools.realtime.end(), pools.warehouse.end()]);
}

export async function readWatermark(client: { query: Pool['query'] }, job: string): Promise<Date | null> {
  const { rows } = await client.query<{ watermark: Date }>('select watermark from etl_watermarks where job_name = $1', [job]);
  return rows[0]?.watermark ?? null;
}

export function errorLine(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs one job atomically; throws JobLockedError when it (or a job using its tables) is running
 * and `wait` is off. `onRecorded` hears the job_runs id once the run is recorded.
 */
export async function runJob(
  config: Config,
  pools: BatchPools,
  job: JobDefinition,
  options: RunOptions,
  logger: Logger,
  onRecorded?: (runId: number) => void,
): Promise<JobReport> {
  const started = Date.now();
  const wh = await pools.warehouse.connect();
  let runId = 0;
  try {
    await wh.query("set time zone 'UTC'");
    // If this process dies (kill -9), the server notices within a second even mid-query, rolls
    // back and frees the job's lock, instead of finishing a statement nobody will commit.
    await wh.query("set client_connection_check_interval = '1s'");
    await wh.query('begin');
    try {
      await takeLocks(wh, job.name, Boolean(options.wait));
    } catch (error) {
      await wh.query('rollback');
      throw error;
    }
    // We hold the lock: a 'running' record of this job is a run that died (kill -9, power loss).
    await pools.warehouse.query(
      `update job_runs set status = 'failed', finished_at = now(), error = 'abandoned: the process ended before the run finished'
       where job_name = $1 and status = 'running'`,
      [job.name],
    );
    const params = { fullRefresh: Boolean(options.fullRefresh), from: options.from, to: options.to, engine: options.engine };
    const inserted = await pools.warehouse.query<{ run_id: number }>(
      `insert into job_runs (job_name, status, params, triggered_by) values ($1, 'running', $2, $3) returning run_id`,
      [job.name, JSON.stringify(params), options.triggeredBy ?? 'cli'],
    );
    runId = inserted.rows[0]?.run_id ?? 0;
    onRecorded?.(Number(runId));
    logger.info({ job: job.name, runId }, 'batch job started');
    options.onJobStarted?.(job.name, runId);

    const rt = await pools.realtime.connect();
    try {
      await rt.query("set time zone 'UTC'");
      await rt.query("set client_connection_check_interval = '1s'");
      await rt.query('begin isolation level repeatable read read only');
      const ctx: JobContext = {
        config,
        wh,
        rt,
        runId,
        options,
        logger: logger.child({ job: job.name, runId }),
        watermark: options.fullRefresh ? null : await readWatermark(wh, job.name),
        watermarkOf: (name) => readWatermark(wh, name),
        recordOutside: async (sql, values) => {
          await pools.warehouse.query(sql, values);
        },
        pools,
      };
      const result = await job.run(ctx);
      if (result.watermark) {
        await wh.query(
          `insert into etl_watermarks (job_name, watermark) values ($1, $2)
           on conflict (job_name) do update set watermark = excluded.watermark, updated_at = now()`,
          [job.name, result.watermark],
        );
      }
      // In the job's transaction, like the notice: the run is recorded succeeded when, and only
      // if, its work commits (a crash right after the commit must not relabel it abandoned).
      // Nothing else writes this row: the job's lock is held.
      await wh.query(
        `update job_runs set status = 'succeeded', finished_at = clock_timestamp(), rows_in = $2, rows_out = $3 where run_id = $1`,
        [runId, result.rowsIn, result.rowsOut],
      );
      // Sent in the job's transaction: listeners hear of the run when, and only if, it commits.
      const notice: BatchRunNotice = {
        job: job.name,
        run_id: runId,
        status: 'succeeded',
        watermark: (result.watermark ?? (await readWatermark(wh, job.name)))?.toISOString() ?? null,
      };
      await wh.query('select pg_notify($1, $2)', [BatchRunsChannel, JSON.stringify(notice)]);
      await rt.query('commit');
      await wh.query('commit');
      const durationMs = Date.now() - started;
      logger.info(
        { job: job.name, runId, rowsIn: result.rowsIn, rowsOut: result.rowsOut, durationMs, ...result.details },
        'batch job succeeded',
      );
      return {
        job: job.name,
        runId,
        status: 'succeeded',
        rowsIn: result.rowsIn,
        rowsOut: result.rowsOut,
        durationMs,
        details: result.details,
      };
    } finally {
      await rt.query('rollback').catch(() => undefined);
      rt.release();
    }
  } catch (error) {
    await wh.query('rollback').catch(() => undefined);
    if (runId) {
      await pools.warehouse
        .query(`update job_runs set status = 'failed', finished_at = now(), error = $2 where run_id = $1`, [runId, errorLine(error)])
        .catch(() => undefined);
      logger.error({ job: job.name, runId, err: errorLine(error) }, 'batch job failed');
    }
    throw error;
  } finally {
    wh.release();
  }
}
