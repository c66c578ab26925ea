/**
 * What the parts of the savers share: the clients, the consumer of the moment, and the state of
 * every partition. One SaverRuntime per startSavers; the modules beside this one are the parts
 * (fetch loop, partition queues, Postgres outages, blocked partitions, consumer supervision) and
 * take it as their first argument.
 */
import {
  type Config,
  createEventProducer,
  createKafka,
  createPool,
  type EventKind,
  type EventProducer,
  type LambdamartError,
  type Logger,
  type Pool,
  type PoolClient,
} from '@lambdamart/core';
import type { Consumer, Kafka } from 'kafkajs';
import { DeadLetterSender } from '../dead-letters.ts';
import type { SaverMetrics } from '../metrics.ts';
import { describeError } from '../retry.ts';
import type { SaverSql } from '../saver-sql.ts';
import { type SaverTopics, sourceTopics } from '../topics.ts';
import type { BlockedPartition } from './blocked-partitions.ts';
import type { PartitionQueue } from './partition-queues.ts';
import { type RateCap, rateCap } from './rate-cap.ts';

export type SaverState =
  | 'waiting-for-postgres'
  | 'connecting-to-kafka'
  | 'consuming'
  | 'restarting'
  | 'postgres-down'
  | 'failed'
  | 'stopping'
  | 'stopped';

export interface PartitionPosition {
  /** The next offset Postgres holds for the partition, as far as this saver knows. */
  stored: string | null;
  /** The next offset after the batches queued for the writer (= stored when the queue is empty). */
  queued: string | null;
  /** Stored offset already passed to Kafka as the group's (hint) offset. */
  hinted: boolean;
  /** Postgres refused a batch of this partition: save it batch by batch, without the queue. */
  careful: boolean;
}

export interface ConsumerCrash {
  code: 'LM_ERR_SPEED_CONSUMER_CRASHED';
  error: string;
  at: string;
  restartedBy: 'kafkajs' | 'savers';
}

/** Key of a partition in the maps below. */
export const partitionKey = (topic: string, partition: number): string => `${topic}|${partition}`;

export interface SaverRuntimeOptions {
  group: string;
  topics: SaverTopics;
  logger: Logger;
  concurrency: number;
  metrics: SaverMetrics;
  maxConsumerRestarts: number;
  sql: SaverSql;
  /** Events taken from Kafka per second at most (benchmarks); none: as fast as they can. */
  maxRate?: number;
}

export class SaverRuntime {
  readonly group: string;
  readonly topics: SaverTopics;
  readonly logger: Logger;
  readonly metrics: SaverMetrics;
  readonly concurrency: number;
  readonly maxConsumerRestarts: number;
  readonly sql: SaverSql;
  readonly rateCap: RateCap | null;
  readonly kindOf: Map<string, EventKind>;
  readonly pool: Pool;
  readonly kafka: Kafka;
  readonly producer: EventProducer;
  readonly deadLetters: DeadLetterSender;
  consumer: Consumer | null = null;
  state: SaverState = 'waiting-for-postgres';
  readonly abort = new AbortController();
  running: Promise<void> = Promise.resolve();
  hintTimer: NodeJS.Timeout | undefined;
  /** Bumped on every group join: positions read before a rebalance are not trusted after it. */
  generation = 0;
  readonly positions = new Map<string, PartitionPosition>();
  /** Set while positionAll reads the stored offsets and seeks (startPositioning): batches wait for it. */
  positioning: Promise<void> | null = null;
  readonly queues = new Map<string, PartitionQueue>();
  queuedMessages = 0;
  assignment: Record<string, number[]> = {};
  probing: Promise<void> | null = null;
  readonly preparedSessions = new WeakSet<PoolClient>();
  saved = 0;
  lastCommitAt: string | null = null;
  readonly blocked = new Map<string, BlockedPartition>();
  /** Why Postgres cannot be used, while the savers wait for it (/health). */
  postgresError: { code: string; error: string } | null = null;
  /** Our own restarts of a crashed consumer in a row (kafkajs's own restarts not counted). */
  consumerRestarts = 0;
  lastRestartAt = 0;
  lastCrash: ConsumerCrash | null = null;
  restarting: Promise<void> | null = null;
  giveUp: (error: LambdamartError) => void = () => undefined;
  readonly failed: Promise<LambdamartError> = new Promise((resolve) => {
    this.giveUp = resolve;
  });

  constructor(
    readonly config: Config,
    options: SaverRuntimeOptions,
  ) {
    this.group = options.group;
    this.topics = options.topics;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.concurrency = options.concurrency;
    this.maxConsumerRestarts = options.maxConsumerRestarts;
    this.sql = options.sql;
    this.rateCap = options.maxRate ? rateCap(options.maxRate) : null;
    this.kindOf = new Map(sourceTopics(this.topics).map((t) => [t.topic, t.kind]));
    this.pool = createPool(config.realtimeDatabaseUrl, {
      max: this.concurrency + 2,
      application: 'lambdamart-speed',
      onIdleError: (error) => this.logger.warn({ error: describeError(error) }, 'an idle PostgreSQL connection was lost'),
    });
    this.kafka = createKafka({ ...config.kafka, clientId: `lambdamart-speed-${this.group}`, logger: this.logger });
    // Dead letters are at least once anyway (sent before the commit that records them), so the
    // producer need not be idempotent; few retries, so a refusing topic cannot hold a batch for long.
    this.producer = createEventProducer({
      ...config.kafka,
      clientId: `lambdamart-speed-${this.group}`,
      logger: this.logger,
      idempotent: false,
      compression: 'gzip',
      retries: 2,
    });
    this.deadLetters = new DeadLetterSender(this.producer, this.topics.deadLetters, undefined, { signal: this.abort.signal });
  }

  get stopping(): boolean {
    return this.abort.signal.aborted;
  }
}
