/**
 * The batch layer's public surface: what the CLI, the API's job trigger, the benchmarks and the
 * end-to-end tests use. Everything else is the jobs' own business.
 */

export { PurgeRefusedError, type PurgeResult, purgeArchived } from './purge/purge.ts';
export type { AnalyticsEngine, JobReport, RunOptions } from './runner/job.ts';
export { type JobStatus, listJobs } from './runner/job-status.ts';
export { JobLockedError } from './runner/locks.ts';
export { jobNames, planJobs, UnknownJobError } from './runner/plan.ts';
export { type BatchPools, closeBatchPools, createBatchPools, runJob } from './runner/run-job.ts';
export { BatchJobsFailedError, type RunJobsOptions, runJobs } from './runner/runner.ts';
export { type Scheduler, startScheduler } from './runner/scheduler.ts';
export { DataQualityError } from './shared/checks.ts';
// The reliability suite reads the lake with the same DuckDB set-up as the jobs.
export { withDuckdb } from './shared/lake.ts';
