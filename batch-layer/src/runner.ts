/**
 * Runs batch jobs: in dependency order, each in one warehouse transaction holding a Postgres
 * advisory lock keyed by the job's name (a second trigger is refused, or waits with `wait`),
 * each recorded in job_runs (running -> succeeded | failed, rows in/out, error). A crash or
 * kill leaves the transaction uncommitted, so the previous good state stays; the next run of the
 * job marks the orphaned 'running' record failed and does the work again.
 */
import { type BatchRunNotice, BatchRunsChannel, type Config, createLogger, createPool, type Logger, type Pool } from '@lambdamart/core';
import type { JobContext, JobDefinition, JobReport, RunOptions } from './job.ts';
import { analyticsJob } from './jobs/analytics.ts';
import { archiveJob } from './jobs/archive.ts';
import { dimensionsJob } from './jobs/dimensions.ts';
import { factsJob } from './jobs/facts.ts';
import { qualityJob } from './jobs/quality.ts';

export const jobs: readonly JobDefinition[] = [archiveJob, dimensionsJob, factsJob, analyticsJob, qualityJob];

export const jobNames = jobs.map((j) => j.name);

export class JobLockedError extends Error {
  constructor(readonly job: string) {
    super(`batch job ${job} is already running (another trigger holds its lock); try again later or pass --wait`);
    this.name = 'JobLockedError';
  }
}

export class UnknownJobError extends Error {
  constructor(name: string) {
    super(`unknown batch job "${name}": expected one of ${jobNames.join(', ')}`);
    this.name = 'UnknownJobError';
  }
}

/** The named jobs (or all) in dependency order; unknown names throw. */
export function planJobs(names: readonly string[] | 'all'): JobDefinition[] {
  if (names === 'all' || names.length === 0) return [...jobs];
  for (const name of names) if (!jobNames.includes(name)) throw new UnknownJobError(name);
  // `jobs` is listed in dependency order, so filtering keeps that order.
  return jobs.filter((j) => names.includes(j.name));
}

/** The advisory lock key of a job: stable across processes. */
export const lockKeySql = `hashtext('lambdamart.batch.' || $1)`;

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

async function readWatermark(client: { query: Pool['query'] }, job: string): Promise<Date | null> {
  const { rows } = await client.query<{ watermark: Date }>('select watermark from etl_watermarks where job_name = $1', [job]);
  return rows[0]?.watermark ?? null;
}

function errorLine(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Runs one job atomically; throws JobLockedError when it is already running and `wait` is off. */
export async function runJob(
  config: Config,
  pools: BatchPools,
  job: JobDefinition,
  options: RunOptions,
  logger: Logger,
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
    const lock = options.wait
      ? await wh.query(`select pg_advisory_xact_lock(${lockKeySql}) is null as locked`, [job.name]).then(() => true)
      : (await wh.query<{ locked: boolean }>(`select pg_try_advisory_xact_lock(${lockKeySql}) as locked`, [job.name])).rows[0]?.locked;
    if (!lock) {
      await wh.query('rollback');
      throw new JobLockedError(job.name);
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
      // Sent in the job's transaction: listeners hear of the run when, and only if, it commits.
      const notice: BatchRunNotice = {
        job: job.name,
        run_id: runId,
        status: 'succeeded',
        watermark: (result.watermark ?? (await readWatermark(wh, job.name)))?.toISOString() ?? null,
      };
      await wh.query('select pg_notify($1, $2)', [BatchRunsChannel, JSON.stringify(notice)]);
      await wh.query('commit');
      await rt.query('commit');
      const durationMs = Date.now() - started;
      await pools.warehouse.query(
        `update job_runs set status = 'succeeded', finished_at = now(), rows_in = $2, rows_out = $3 where run_id = $1`,
        [runId, result.rowsIn, result.rowsOut],
      );
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

export type RunJobsOptions = RunOptions & { pools?: BatchPools };

/**
 * Runs the named jobs (or 'all') in dependency order and returns one report per job run. The
 * first failure stops the run (later jobs depend on it) and is thrown after its report.
 */
export async function runJobs(config: Config, names: readonly string[] | 'all', options: RunJobsOptions = {}): Promise<JobReport[]> {
  const plan = planJobs(names);
  const logger = options.logger ?? createLogger('batch-layer', config.logLevel);
  const pools = options.pools ?? createBatchPools(config);
  const reports: JobReport[] = [];
  try {
    for (const job of plan) {
      if (options.signal?.aborted) break;
      const started = Date.now();
      try {
        const report = await runJob(config, pools, job, options, logger);
        reports.push(report);
        options.onJobFinished?.(report);
      } catch (error) {
        if (!(error instanceof JobLockedError)) {
          const report: JobReport = {
            job: job.name,
            runId: 0,
            status: 'failed',
            rowsIn: 0,
            rowsOut: 0,
            durationMs: Date.now() - started,
            error: errorLine(error),
          };
          options.onJobFinished?.(report);
        }
        throw error;
      }
    }
    return reports;
  } finally {
    if (!options.pools) await closeBatchPools(pools);
  }
}

export interface JobStatus {
  job: string;
  dependsOn: readonly string[];
  description: string;
  lastRun: {
    runId: number;
    status: string;
    startedAt: Date;
    finishedAt: Date | null;
    rowsIn: number | null;
    rowsOut: number | null;
    error: string | null;
  } | null;
  watermark: Date | null;
}

/** Every job with its dependencies, last run and watermark: `lambdamart batch list`. */
export async function listJobs(config: Config): Promise<JobStatus[]> {
  const pool = createPool(config.warehouseDatabaseUrl, { max: 1, application: 'lambdamart-batch' });
  try {
    const statuses: JobStatus[] = [];
    for (const job of jobs) {
      const { rows } = await pool.query(
        `select run_id, status, started_at, finished_at, rows_in, rows_out, error from job_runs
         where job_name = $1 order by started_at desc, run_id desc limit 1`,
        [job.name],
      );
      const last = rows[0];
      statuses.push({
        job: job.name,
        dependsOn: job.dependsOn,
        description: job.description,
        lastRun: last
          ? {
              runId: last.run_id,
              status: last.status,
              startedAt: last.started_at,
              finishedAt: last.finished_at,
              rowsIn: last.rows_in,
              rowsOut: last.rows_out,
              error: last.error,
            }
          : null,
        watermark: await readWatermark(pool, job.name),
      });
    }
    return statuses;
  } finally {
    await pool.end();
  }
}
