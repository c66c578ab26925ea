/**
 * Runs batch jobs in dependency order, each atomically (run-job.ts), or records it skipped when
 * a job it depends on failed in the same run (naming the failed dependency).
 */
import { type Config, createLogger, LambdamartError } from '@lambdamart/core';
import type { JobDefinition, JobReport, RunOptions } from './job.ts';
import { JobLockedError } from './locks.ts';
import { planJobs } from './plan.ts';
import { type BatchPools, closeBatchPools, createBatchPools, errorLine, runJob } from './run-job.ts';

/** More than one job of a run failed: each job's error, in run order. */
export class BatchJobsFailedError extends LambdamartError {
  constructor(readonly failures: readonly { job: string; error: unknown }[]) {
    super(
      'LM_ERR_BATCH_JOBS_FAILED',
      `${failures.length} batch jobs failed: ${failures.map((f) => `${f.job}: ${errorLine(f.error)}`).join('; ')}`,
    );
    this.name = 'BatchJobsFailedError';
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
