/**
 * Runs batch jobs: in dependency order, each in one warehouse transaction holding a Postgres
 * advisory lock keyed by the job's name (a second trigger is refused, or waits with `wait`) and
 * shared or exclusive advisory locks on the warehouse tables it reads or writes (so a dimensions
 * run and a facts run never interleave), each recorded in job_runs (running -> succeeded | failed,
 * or skipped when a job it depends on failed; rows in/out, error). 'succeeded' is written in the
 * job's transaction, so it commits with the work. A crash or kill leaves the transaction
 * uncommitted, so the previous good state stays; the next run of the job marks the orphaned
 * 'running' record failed and does the work again.
 */
import {
  type BatchRunNotice,
  BatchRunsChannel,
  type Config,
  createLogger,
  createPool,
  type Logger,
  type Pool,
  type PoolClient,
} from '@lambdamart/core';
import type { JobContext, JobDefinition, JobReport, RunOptions } from './job.ts';
import { analyticsJob } from './jobs/analytics.ts';
import { archiveJob } from './jobs/archive.ts';
import { dimensionsJob } from './jobs/dimensions.ts';
import { factsJob } from './jobs/facts.ts';
import { qualityJob } from './jobs/quality.ts';

export const jobs: readonly JobDefinition[] = [archiveJob, dimensionsJob, factsJob, analyticsJob, qualityJob];

export const jobNames = jobs.map((j) => j.name);

export class JobLockedError extends Error {
  /**
   * `tables`: the tables another trigger's job holds (its name in `holders`, when known), when
   * the job itself is not running.
   */
  constructor(
    readonly job: string,
    readonly tables?: TableGroup,
    readonly holders: readonly string[] = [],
  ) {
    super(
      tables
        ? `batch job ${job} cannot start: another trigger is running ${holders.length ? holders.join(', ') : 'a job'}, which uses ` +
            `the ${tables === 'dimensions' ? 'dimension' : 'fact'} tables ${job} ${tableLocks[job]?.[tables] === 'exclusive' ? 'writes' : 'reads'}; ` +
            'try again later or pass --wait'
        : `batch job ${job} is already running (another trigger holds its lock); try again later or pass --wait`,
    );
    this.name = 'JobLockedError';
  }
}

/** More than one job of a run failed: each job's error, in run order. */
export class BatchJobsFailedError extends Error {
  constructor(readonly failures: readonly { job: string; error: unknown }[]) {
    super(`${failures.length} batch jobs failed: ${failures.map((f) => `${f.job}: ${errorLine(f.error)}`).join('; ')}`);
    this.name = 'BatchJobsFailedError';
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

/** The advisory lock key of a group of warehouse tables. */
export const tablesLockKeySql = `hashtext('lambdamart.batch.tables.' || $1)`;

/** Groups of warehouse tables that jobs lock, in the order they are locked (a fixed order: no deadlock). */
export const tableGroups = ['dimensions', 'facts'] as const;
export type TableGroup = (typeof tableGroups)[number];

/**
 * What each job does to each group: 'exclusive' when it writes them, 'shared' when it reads
 * them. dimensions rewrites the SCD2 versions and re-points the facts to them; facts joins the
 * versions it reads; analytics and quality read both. So a facts run never sees versions that a
 * dimensions run is rewriting, and a dimensions run re-points every fact loaded.
 */
export const tableLocks: Readonly<Record<string, Partial<Record<TableGroup, 'shared' | 'exclusive'>>>> = {
  dimensions: { dimensions: 'exclusive', facts: 'exclusive' },
  facts: { dimensions: 'shared', facts: 'exclusive' },
  analytics: { dimensions: 'shared', facts: 'shared' },
  quality: { dimensions: 'shared', facts: 'shared' },
};

/**
 * Takes the job's lock, then its table locks in tableGroups order, in the transaction `wh` has
 * begun; waits for them with `wait`, else throws JobLockedError at the first one held elsewhere.
 */
async function takeLocks(wh: PoolClient, job: string, wait: boolean): Promise<void> {
  const locks: { key: string; arg: string; shared: boolean; tables?: TableGroup }[] = [{ key: lockKeySql, arg: job, shared: false }];
  for (const tables of tableGroups) {
    const mode = tableLocks[job]?.[tables];
    if (mode) locks.push({ key: tablesLockKeySql, arg: tables, shared: mode === 'shared', tables });
  }
  for (const lock of locks) {
    const fn = `pg_${wait ? '' : 'try_'}advisory_xact_lock${lock.shared ? '_shared' : ''}`;
    const { rows } = await wh.query<{ locked: boolean | null }>(`select ${fn}(${lock.key})${wait ? ' is null' : ''} as locked`, [lock.arg]);
    if (wait || rows[0]?.locked) continue;
    if (!lock.tables) throw new JobLockedError(job);
    throw new JobLockedError(job, lock.tables, await runningUsersOf(wh, job, lock.tables));
  }
}

/** The jobs (other than `job`) recorded running that lock `tables` in a mode that conflicts with `job`'s. */
async function runningUsersOf(wh: PoolClient, job: string, tables: TableGroup): Promise<string[]> {
  const mine = tableLocks[job]?.[tables];
  const conflicting = Object.entries(tableLocks)
    .filter(([name, modes]) => name !== job && modes[tables] && (mine === 'exclusive' || modes[tables] === 'exclusive'))
    .map(([name]) => name);
  const { rows } = await wh.query<{ job_name: string }>(
    `select distinct job_name from job_runs where status = 'running' and job_name = any($1) order by job_name`,
    [conflicting],
  );
  return rows.map((r) => r.job_name);
}

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

export type RunJobsOptions = RunOptions & { pools?: BatchPools };

/** Why a job is skipped: its dependency failed, or was skipped itself (naming the failure behind it). */
function skipReason(dependency: string, outcome: { status: 'failed' | 'skipped'; failed: string }): string {
  return outcome.status === 'failed'
    ? `skipped: it depends on ${dependency}, which failed`
    : `skipped: it depends on ${dependency}, which was skipped because ${outcome.failed} failed`;
}

/** Records a skipped job in job_runs (no lock: nothing runs) and reports it. */
async function recordSkipped(pools: BatchPools, job: JobDefinition, options: RunOptions, reason: string): Promise<JobReport> {
  const params = { fullRefresh: Boolean(options.fullRefresh), from: options.from, to: options.to, engine: options.engine };
  const { rows } = await pools.warehouse.query<{ run_id: number }>(
    `insert into job_runs (job_name, status, finished_at, error, params, triggered_by)
     values ($1, 'skipped', now(), $2, $3, $4) returning run_id`,
    [job.name, reason, JSON.stringify(params), options.triggeredBy ?? 'cli'],
  );
  return { job: job.name, runId: Number(rows[0]?.run_id ?? 0), status: 'skipped', rowsIn: 0, rowsOut: 0, durationMs: 0, error: reason };
}

/**
 * Runs the named jobs (or 'all') in dependency order and returns one report per job run. A job
 * that fails skips the jobs that depend on it, transitively (recorded 'skipped', naming the
 * failed dependency); the others still run. Then the failure is thrown (BatchJobsFailedError for
 * more than one). A job refused because another trigger holds its lock stops the run at once.
 */
export async function runJobs(config: Config, names: readonly string[] | 'all', options: RunJobsOptions = {}): Promise<JobReport[]> {
  const plan = planJobs(names);
  const logger = options.logger ?? createLogger('batch-layer', config.logLevel);
  const pools = options.pools ?? createBatchPools(config);
  const reports: JobReport[] = [];
  // The jobs of this run that failed or were skipped, with the failure behind each.
  const notDone = new Map<string, { status: 'failed' | 'skipped'; failed: string }>();
  const failures: { job: string; error: unknown }[] = [];
  const finished = (report: JobReport) => {
    reports.push(report);
    options.onJobFinished?.(report);
  };
  try {
    for (const job of plan) {
      if (options.signal?.aborted) break;
      const blockedBy = job.dependsOn.find((d) => notDone.has(d));
      const blocked = blockedBy ? notDone.get(blockedBy) : undefined;
      if (blockedBy && blocked) {
        const report = await recordSkipped(pools, job, options, skipReason(blockedBy, blocked));
        logger.warn({ job: job.name, runId: report.runId, reason: report.error }, 'batch job skipped');
        notDone.set(job.name, { status: 'skipped', failed: blocked.failed });
        finished(report);
        continue;
      }
      const started = Date.now();
      let runId = 0;
      try {
        finished(
          await runJob(config, pools, job, options, logger, (id) => {
            runId = id;
          }),
        );
      } catch (error) {
        if (error instanceof JobLockedError) throw error;
        finished({
          job: job.name,
          runId,
          status: 'failed',
          rowsIn: 0,
          rowsOut: 0,
          durationMs: Date.now() - started,
          error: errorLine(error),
        });
        notDone.set(job.name, { status: 'failed', failed: job.name });
        failures.push({ job: job.name, error });
      }
    }
    if (failures.length === 1) throw failures[0]?.error;
    if (failures.length > 1) throw new BatchJobsFailedError(failures);
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
