/**
 * The API's job trigger, built on the batch layer's runner. It lives in the cli, which may import
 * every layer, and is injected into the API, which imports core only (DESIGN.md's layout).
 */
import {
  type BatchPools,
  closeBatchPools,
  createBatchPools,
  JobLockedError,
  jobNames,
  planJobs,
  runJob,
  UnknownJobError,
} from '@lambdamart/batch-layer';
import type { Config, Logger } from '@lambdamart/core';
import type { JobTrigger } from '@lambdamart/serving-api';

export interface BatchJobTrigger extends JobTrigger {
  /** Waits for the runs in progress to finish (or roll back), then closes the pools. */
  stop(): Promise<void>;
}

export function batchJobTrigger(config: Config, logger: Logger, pools: BatchPools = createBatchPools(config)): BatchJobTrigger {
  const inFlight = new Set<Promise<unknown>>();
  return {
    jobs: jobNames,
    trigger(name, options) {
      const [job] = planJobs([name]);
      // planJobs throws for an unknown name; this only tells the compiler so.
      if (!job) return Promise.reject(new UnknownJobError(name));
      return new Promise((resolve, reject) => {
        const run = runJob(
          config,
          pools,
          job,
          {
            from: options.from,
            to: options.to,
            fullRefresh: options.fullRefresh,
            triggeredBy: 'api',
            onJobStarted: (_job, runId) => resolve({ started: true, runId }),
          },
          logger,
        ).catch((error) => {
          if (error instanceof JobLockedError) resolve({ started: false });
          // Before the run started this rejects the request; after, the run's record says it failed.
          else reject(error);
        });
        inFlight.add(run);
        void run.finally(() => inFlight.delete(run));
      });
    },
    async stop() {
      await Promise.allSettled([...inFlight]);
      await closeBatchPools(pools);
    },
  };
}
