/** The batch jobs, in dependency order, and the plan of a run: which of them, in what order. */
import { LambdamartError } from '@lambdamart/core';
import { analyticsJob } from '../jobs/analytics/analytics-job.ts';
import { archiveJob } from '../jobs/archive/archive-job.ts';
import { dimensionsJob } from '../jobs/dimensions/dimensions-job.ts';
import { factsJob } from '../jobs/facts/facts-job.ts';
import { qualityJob } from '../jobs/quality/quality-job.ts';
import type { JobDefinition } from './job.ts';

export const jobs: readonly JobDefinition[] = [archiveJob, dimensionsJob, factsJob, analyticsJob, qualityJob];

export const jobNames = jobs.map((j) => j.name);

export class UnknownJobError extends LambdamartError {
  constructor(name: string) {
    super('LM_ERR_BATCH_UNKNOWN_JOB', `unknown batch job "${name}": expected one of ${jobNames.join(', ')}`);
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
