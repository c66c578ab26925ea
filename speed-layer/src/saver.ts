/**
 * The savers: one consumer group over the event topics and the catalog, saving each partition
 * batch exactly once into the realtime database.
 *
 * Exactly once: a batch's rows and the partition's next offset commit in one Postgres transaction
 * (store.ts). Kafka's group offsets are only a hint: on every assignment the saver reads
 * consumer_offsets and seeks each partition there before it saves a batch; a save that finds the
 * stored offset moved (another saver, an ambiguous commit) writes nothing and re-reads. Event ids are primary keys, so a replay
 * adds nothing either.
 *
 * Memory is bounded by kafkajs's fetch sizes: it fetches again only when every batch of the last
 * fetch is done, so a slow Postgres slows the fetching instead of filling memory; when Postgres is
 * down the partitions are paused until a probe finds it back.
 *
 * This file wires the parts in ./saver/ together: the fetch loop (fetch-loop.ts), the partition
 * queues and writers (partition-queues.ts), Postgres failures and outages (postgres-outage.ts),
 * blocked partitions (blocked-partitions.ts), dead letters to Kafka (send-dead-letters.ts), batches
 * refused as data (refused-batches.ts), the consumer's restarts (consumer-supervisor.ts), /health
 * (health.ts); the store writes are in store.ts, their SQL in warehouse/sql/realtime/speed.
 */
import { type Config, createLogger, type LambdamartError, type Logger } from '@lambdamart/core';
import { createSaverMetrics } from './metrics.ts';
import { describeError } from './retry.ts';
import { clearBlockedTimers } from './saver/blocked-partitions.ts';
import { connectToKafka } from './saver/consumer-supervisor.ts';
import { healthReport } from './saver/health.ts';
import { writersIdle } from './saver/partition-queues.ts';
import { waitForPostgres } from './saver/postgres-outage.ts';
import { SaverRuntime } from './saver/runtime.ts';
import { loadSaverSql } from './saver-sql.ts';
import { type HealthReport, startHealthServer } from './server.ts';
import { defaultSaverTopics, type SaverTopics, sourceTopics } from './topics.ts';

export interface SaverOptions {
  /** Consumer group id; every process with the same group shares the partitions. */
  group?: string;
  topics?: Partial<SaverTopics>;
  /** Port of /health and /metrics; 0 picks a free one. Default: SPEED_METRICS_PORT. */
  metricsPort?: number;
  logger?: Logger;
  /** Partition batches saved at the same time (one Postgres connection each). */
  concurrency?: number;
  /**
   * Restarts of a consumer that crashed and that kafkajs does not restart itself (a non-retriable
   * error), in a row, before the savers give up: `failed` resolves and /health says `failed`.
   */
  maxConsumerRestarts?: number;
  /** Events taken from Kafka per second at most, for benchmarks that ingest a backlog at a given rate; default: no cap. */
  maxRate?: number;
}

export interface SaverHandle {
  readonly group: string;
  readonly topics: SaverTopics;
  /** The port /health and /metrics are served on. */
  readonly metricsPort: number;
  health(): HealthReport;
  /**
   * Resolves (never rejects) when the savers gave up: the consumer kept crashing and could not be
   * restarted. A process should then stop and exit non-zero, so that its supervisor restarts it.
   */
  readonly failed: Promise<LambdamartError>;
  /** Finishes the batches in hand, commits them, leaves the group, closes everything. */
  stop(): Promise<void>;
}

export async function startSavers(config: Config, options: SaverOptions = {}): Promise<SaverHandle> {
  const group = options.group ?? 'savers';
  const topics: SaverTopics = { ...defaultSaverTopics, ...options.topics };
  const logger = (options.logger ?? createLogger('speed-layer', config.logLevel)).child({ group });
  const concurrency = options.concurrency ?? 4;
  const maxConsumerRestarts = options.maxConsumerRestarts ?? 10;
  const metrics = createSaverMetrics();
  const sql = await loadSaverSql();
  const saver = new Savers(
    new SaverRuntime(config, {
      group,
      topics,
      logger,
      concurrency,
      metrics,
      maxConsumerRestarts,
      sql,
      maxRate: options.maxRate,
    }),
  );
  const server = await startHealthServer({
    port: options.metricsPort ?? config.speed.metricsPort,
    registry: metrics.registry,
    health: () => saver.health(),
    logger,
  });
  logger.info({ topics: sourceTopics(topics).map((t) => t.topic), metricsPort: server.port }, 'savers starting');
  saver.start();
  return {
    group,
    topics,
    metricsPort: server.port,
    health: () => saver.health(),
    failed: saver.failed,
    async stop() {
      await saver.stop();
      await server.close();
    },
  };
}

/** The savers' lifecycle: start, /health, stop. */
class Savers {
  constructor(private readonly rt: SaverRuntime) {}

  get failed(): Promise<LambdamartError> {
    return this.rt.failed;
  }

  start(): void {
    const rt = this.rt;
    rt.running = (async () => {
      await waitForPostgres(rt);
      await connectToKafka(rt);
    })().catch((error) => rt.logger.error({ error: describeError(error) }, 'savers failed to start'));
  }

  health(): HealthReport {
    const rt = this.rt;
    return healthReport({
      state: rt.state,
      group: rt.group,
      assignment: rt.assignment,
      saved: rt.saved,
      lastCommitAt: rt.lastCommitAt,
      blocked: [...rt.blocked.values()],
      postgresError: rt.postgresError,
      lastCrash: rt.lastCrash,
      consumerRestarts: rt.consumerRestarts,
    });
  }

  async stop(): Promise<void> {
    const rt = this.rt;
    if (rt.state === 'stopped') return;
    rt.state = 'stopping';
    rt.abort.abort();
    clearInterval(rt.hintTimer);
    clearBlockedTimers(rt);
    await rt.running;
    await rt.restarting;
    // The batches in hand are committed, then the group is left (kafkajs waits for eachBatch calls in flight).
    await writersIdle(rt);
    await rt.consumer?.disconnect().catch((error) => rt.logger.warn({ error: describeError(error) }, 'leaving the group failed'));
    await writersIdle(rt);
    await rt.producer.disconnect().catch(() => undefined);
    await rt.pool.end().catch(() => undefined);
    rt.state = 'stopped';
    rt.logger.info({ savedEvents: rt.saved }, 'savers stopped');
  }
}
