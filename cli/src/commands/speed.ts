import { LambdamartError, loadConfigOrExit } from '@lambdamart/core';
import { saverTopicsWithSuffix, startSavers } from '@lambdamart/speed-layer';
import { type Command, InvalidArgumentError } from 'commander';
import { action, onStopSignals, positiveInt } from '../action.ts';

interface SpeedOptions {
  group: string;
  metricsPort?: number;
  topicSuffix?: string;
  concurrency: number;
  maxRestarts: number;
  maxRate?: number;
}

function metricsPort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('expected a TCP port between 0 and 65535 (0: any free port)');
  return n;
}

function groupId(value: string): string {
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(value)) throw new InvalidArgumentError('expected a group id of letters, digits, ".", "_" or "-"');
  return value;
}

export function registerSpeed(program: Command): void {
  program
    .command('speed')
    .description('run the savers: save the event topics and the product catalog into the realtime database, exactly once')
    .option('--group <id>', 'consumer group; every process with the same group shares the partitions', groupId, 'savers')
    .option('--metrics-port <port>', '/health and /metrics port (default: SPEED_METRICS_PORT or 9464; 0: any free port)', metricsPort)
    .option('--concurrency <n>', 'partition batches saved at the same time', positiveInt('a number of batches'), 4)
    .option(
      '--max-restarts <n>',
      'restarts in a row of a consumer that crashed with an error kafkajs does not retry, before exiting 1',
      positiveInt('a number of restarts'),
      10,
    )
    .option(
      '--max-rate <n>',
      'events per second taken from Kafka at most (benchmarks that ingest a backlog at a given rate; default: no cap)',
      positiveInt('a number of events per second'),
    )
    .option('--topic-suffix <suffix>', 'read <topic><suffix> and write dead letters to dead-letters<suffix> (tests, benchmarks)')
    .action(
      action(async (opts: SpeedOptions) => {
        const config = loadConfigOrExit();
        const savers = await startSavers(config, {
          group: opts.group,
          metricsPort: opts.metricsPort,
          concurrency: opts.concurrency,
          maxConsumerRestarts: opts.maxRestarts,
          maxRate: opts.maxRate,
          topics: opts.topicSuffix ? saverTopicsWithSuffix(opts.topicSuffix) : undefined,
        });
        // SIGTERM or Ctrl-C: finish the batches in hand, commit, leave the group, exit 0.
        // A consumer that cannot be restarted: the same, then exit 1, so a supervisor restarts us.
        let releaseSignals = () => {};
        const failure = await Promise.race([
          new Promise<undefined>((resolve) => {
            releaseSignals = onStopSignals(() => resolve(undefined));
          }),
          savers.failed,
        ]);
        await savers.stop();
        releaseSignals();
        if (failure) {
          throw new LambdamartError('LM_ERR_SPEED_CONSUMER_FAILED', `the Kafka consumer kept crashing: ${failure.message}`, {
            hint: 'see the log; a supervisor should restart this process',
          });
        }
      }),
    );
}
