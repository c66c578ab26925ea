/** `lambdamart batch list`: every job with its dependencies, last run and watermark. */
import { type Config, createPool } from '@lambdamart/core';
import { jobs } from './plan.ts';
import { readWatermark } from './run-job.ts';

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
