/**
 * The batch schedule: every job on BATCH_CRON (node-cron), optionally once at start-up. A tick
 * that comes while a run is still going is skipped; stop() stops the clock, lets the running job
 * finish (its transaction commits or rolls back, never half) and starts no further job.
 */
import { type Config, createLogger, type Logger } from '@lambdamart/core';
import cron from 'node-cron';
import { JobLockedError } from './locks.ts';
import { closeBatchPools, createBatchPools } from './run-job.ts';
import { runJobs } from './runner.ts';

export interface Scheduler {
  stop(): Promise<void>;
}

export async function startScheduler(config: Config, options: { logger?: Logger; runAtStart?: boolean } = {}): Promise<Scheduler> {
  const logger = options.logger ?? createLogger('batch-scheduler', config.logLevel);
  const pools = createBatchPools(config);
  let running: Promise<void> | null = null;
  let stopped = false;
  const stopping = new AbortController();

  const tick = (reason: string) => {
    if (stopped) return;
    if (running) {
      logger.info({ reason }, 'batch run still going: this tick is skipped');
      return;
    }
    running = runJobs(config, 'all', { pools, logger, triggeredBy: 'schedule', signal: stopping.signal })
      .then(() => undefined)
      .catch((error: unknown) => {
        if (error instanceof JobLockedError) logger.warn({ reason }, error.message);
        else logger.error({ reason, err: error instanceof Error ? error.message : String(error) }, 'scheduled batch run failed');
      })
      .finally(() => {
        running = null;
      });
  };

  const task = cron.schedule(config.batchCron, () => tick('cron'), { name: 'lambdamart-batch' });
  logger.info({ cron: config.batchCron }, 'batch scheduler started');
  if (options.runAtStart) tick('start-up');

  return {
    async stop() {
      stopped = true;
      stopping.abort();
      await task.stop();
      await task.destroy();
      if (running) {
        logger.info('waiting for the running batch job to finish');
        await running;
      }
      await closeBatchPools(pools);
      logger.info('batch scheduler stopped');
    },
  };
}
