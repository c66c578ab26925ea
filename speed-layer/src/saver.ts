/**
 * The savers: one consumer group over the event topics and the catalog, saving each partition
 * batch exactly once into the realtime database.
 *
 * Exactly once: a batch's rows and the partition's next offset commit in one Postgres transaction
 * (store.ts). Kafka's group offsets are only a hint: on the first batch after every assignment the
 * saver reads consumer_offsets and seeks there; a save that finds the stored offset moved (another
 * saver, an ambiguous commit) writes nothing and re-reads. Event ids are primary keys, so a replay
 * adds nothing either.
 *
 * Memory is bounded by kafkajs's fetch sizes: it fetches again only when every batch of the last
 * fetch is done, so a slow Postgres slows the fetching instead of filling memory; when Postgres is
 * down the partitions are paused until a probe finds it back.
 */
import {
  type Config,
  createKafka,
  createKafkaProducer,
  createLogger,
  createPool,
  describePostgresUrl,
  type EventKind,
  type EventProducer,
  type Logger,
  type Pool,
  type PoolClient,
} from '@lambdamart/core';
import type { Batch, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { deadLetterRow, type PreparedBatch, prepareBatch, stagingRows } from './batch.ts';
import { DeadLetterSender } from './dead-letters.ts';
import { createSaverMetrics, type SaverMetrics } from './metrics.ts';
import { firstBatchAction, nextOffsetAfter, storedBeyondLog, unsaved } from './positions.ts';
import { backoffMs, classifyPostgresError, describeError, sleep } from './retry.ts';
import type { StagingCopy } from './rows.ts';
import { type HealthReport, startHealthServer } from './server.ts';
import {
  type DeadLetterRow,
  findRefusedEvents,
  PREPARE_SESSION_SQL,
  readStoredOffset,
  readStoredOffsets,
  restartStoredOffset,
  type SaveResult,
  saveBatch,
} from './store.ts';
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
  readonly failed: Promise<Error>;
  /** Finishes the batches in hand, commits them, leaves the group, closes everything. */
  stop(): Promise<void>;
}

type State =
  | 'waiting-for-postgres'
  | 'connecting-to-kafka'
  | 'consuming'
  | 'restarting'
  | 'postgres-down'
  | 'failed'
  | 'stopping'
  | 'stopped';

export async function startSavers(config: Config, options: SaverOptions = {}): Promise<SaverHandle> {
  const group = options.group ?? 'savers';
  const topics: SaverTopics = { ...defaultSaverTopics, ...options.topics };
  const logger = (options.logger ?? createLogger('speed-layer', config.logLevel)).child({ group });
  const concurrency = options.concurrency ?? 4;
  const maxConsumerRestarts = options.maxConsumerRestarts ?? 10;
  const metrics = createSaverMetrics();
  const saver = new Savers(config, { group, topics, logger, concurrency, metrics, maxConsumerRestarts });
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

interface PartitionPosition {
  /** The next offset Postgres holds for the partition, as far as this saver knows. */
  stored: string | null;
  /** The next offset after the batches queued for the writer (= stored when the queue is empty). */
  queued: string | null;
  /** Stored offset already passed to Kafka as the group's (hint) offset. */
  hinted: boolean;
  /** Postgres refused a batch of this partition: save it batch by batch, without the queue. */
  careful: boolean;
}

/**
 * A partition paused because what it needs keeps failing in a way that waiting may fix: the
 * dead-letter topic refuses its dead letters, or Postgres refuses its rows for a reason that is
 * not about the data (a permission, a limit). Retried with backoff; /health shows it meanwhile.
 */
interface BlockedPartition {
  topic: string;
  partition: number;
  cause: 'dead-letters' | 'postgres';
  reason: string;
  since: string;
  attempts: number;
  retryAt: string;
  timer: NodeJS.Timeout | undefined;
}

/** Staging rows of one or more fetched batches of a partition, waiting for the writer. */
interface Work {
  expected: string | null;
  next: string;
  staged: StagingCopy;
  deadLetters: DeadLetterRow[];
  messages: number;
  highWatermark: string;
}

interface PartitionQueue {
  works: Work[];
  messages: number;
  writing: Promise<void> | null;
  /** Set while the partition is paused because its queue is full. */
  resume: (() => void) | null;
}

/**
 * Bounds the memory of the queues (COPY text, about 200 bytes an event) over all partitions, and
 * the size of one transaction.
 */
const MAX_QUEUED_MESSAGES = 30_000;
const MAX_MERGED_MESSAGES = 15_000;

function mergeWorks(works: readonly Work[]): Work & { expectedOffset: string | null; nextOffset: string } {
  const first = works[0] as Work;
  const last = works[works.length - 1] as Work;
  const tables: Record<string, string> = {};
  for (const work of works) {
    for (const [table, text] of Object.entries(work.staged.tables)) tables[table] = (tables[table] ?? '') + text;
  }
  return {
    expected: first.expected,
    next: last.next,
    expectedOffset: first.expected,
    nextOffset: last.next,
    staged: { tables, events: works.reduce((n, w) => n + w.staged.events, 0) },
    deadLetters: works.flatMap((w) => w.deadLetters),
    messages: works.reduce((n, w) => n + w.messages, 0),
    highWatermark: last.highWatermark,
  };
}

class Savers {
  private readonly group: string;
  private readonly topics: SaverTopics;
  private readonly logger: Logger;
  private readonly metrics: SaverMetrics;
  private readonly concurrency: number;
  private readonly kindOf: Map<string, EventKind>;
  private readonly pool: Pool;
  private readonly kafka: Kafka;
  private readonly producer: EventProducer;
  private consumer: Consumer | null = null;
  private state: State = 'waiting-for-postgres';
  private readonly abort = new AbortController();
  private running: Promise<void> = Promise.resolve();
  private hintTimer: NodeJS.Timeout | undefined;
  /** Bumped on every group join: positions read before a rebalance are not trusted after it. */
  private generation = 0;
  private readonly positions = new Map<string, PartitionPosition>();
  private readonly queues = new Map<string, PartitionQueue>();
  private queuedMessages = 0;
  private assignment: Record<string, number[]> = {};
  private probing: Promise<void> | null = null;
  private readonly preparedSessions = new WeakSet<PoolClient>();
  private saved = 0;
  private lastCommitAt: string | null = null;
  private readonly blocked = new Map<string, BlockedPartition>();
  private readonly deadLetters: DeadLetterSender;
  private readonly maxConsumerRestarts: number;
  /** Our own restarts of a crashed consumer in a row (kafkajs's own restarts not counted). */
  private consumerRestarts = 0;
  private lastRestartAt = 0;
  private lastCrash: { error: string; at: string; restartedBy: 'kafkajs' | 'savers' } | null = null;
  private restarting: Promise<void> | null = null;
  private giveUp: (error: Error) => void = () => undefined;
  readonly failed: Promise<Error> = new Promise((resolve) => {
    this.giveUp = resolve;
  });

  constructor(
    private readonly config: Config,
    options: {
      group: string;
      topics: SaverTopics;
      logger: Logger;
      concurrency: number;
      metrics: SaverMetrics;
      maxConsumerRestarts: number;
    },
  ) {
    this.group = options.group;
    this.topics = options.topics;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.concurrency = options.concurrency;
    this.maxConsumerRestarts = options.maxConsumerRestarts;
    this.kindOf = new Map(sourceTopics(this.topics).map((t) => [t.topic, t.kind]));
    this.pool = createPool(config.realtimeDatabaseUrl, {
      max: this.concurrency + 2,
      application: 'lambdamart-speed',
      onIdleError: (error) => this.logger.warn({ error: describeError(error) }, 'an idle PostgreSQL connection was lost'),
    });
    this.kafka = createKafka({ ...config.kafka, clientId: `lambdamart-speed-${this.group}`, logger: this.logger });
    // Dead letters are at least once anyway (sent before the commit that records them), so the
    // producer need not be idempotent; few retries, so a refusing topic cannot hold a batch for long.
    this.producer = createKafkaProducer(this.kafka, { idempotent: false, compression: 'gzip', retries: 2 });
    this.deadLetters = new DeadLetterSender(this.producer, this.topics.deadLetters, undefined, { signal: this.abort.signal });
  }

  start(): void {
    this.running = this.run().catch((error) => this.logger.error({ error: describeError(error) }, 'savers failed to start'));
  }

  health(): HealthReport {
    const degraded = this.state === 'consuming' && this.blocked.size > 0;
    return {
      healthy: this.state === 'consuming' && !degraded,
      state: degraded ? 'degraded' : this.state,
      group: this.group,
      assignment: this.assignment,
      savedEvents: this.saved,
      lastCommitAt: this.lastCommitAt,
      ...(this.blocked.size > 0 ? { blocked: [...this.blocked.values()].map(({ timer, ...rest }) => rest) } : {}),
      ...(this.lastCrash ? { lastCrash: this.lastCrash, consumerRestarts: this.consumerRestarts } : {}),
    };
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopping';
    this.abort.abort();
    clearInterval(this.hintTimer);
    for (const blocked of this.blocked.values()) clearTimeout(blocked.timer);
    await this.running;
    await this.restarting;
    // The batches in hand are committed, then the group is left (kafkajs waits for eachBatch calls in flight).
    await this.writersIdle();
    await this.consumer?.disconnect().catch((error) => this.logger.warn({ error: describeError(error) }, 'leaving the group failed'));
    await this.writersIdle();
    await this.producer.disconnect().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
    this.state = 'stopped';
    this.logger.info({ savedEvents: this.saved }, 'savers stopped');
  }

  private get stopping(): boolean {
    return this.abort.signal.aborted;
  }

  private async run(): Promise<void> {
    await this.waitForPostgres();
    await this.connectToKafka();
  }

  /** Connects, subscribes and runs a new consumer; the state becomes `consuming` once it has joined the group. */
  private async connectToKafka(): Promise<void> {
    if (this.stopping) return;
    this.state = 'connecting-to-kafka';
    for (let attempt = 0; !this.stopping; attempt++) {
      try {
        await this.producer.connect();
        const consumer = this.createConsumer();
        this.consumer = consumer;
        await consumer.connect();
        await consumer.subscribe({ topics: [...this.kindOf.keys()], fromBeginning: true });
        if (this.stopping) return;
        await consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: this.concurrency,
          eachBatch: (payload) => this.eachBatch(payload),
        });
        // A crash while joining has already handed over to restartConsumer.
        if (this.consumer !== consumer || this.stopping) return;
        clearInterval(this.hintTimer);
        this.hintTimer = setInterval(() => void this.commitHints(), 5_000);
        return;
      } catch (error) {
        const wait = backoffMs(attempt);
        this.logger.error({ error: describeError(error), brokers: this.config.kafka.brokers, retryInMs: wait }, 'Kafka is unreachable');
        await this.consumer?.disconnect().catch(() => undefined);
        this.consumer = null;
        await sleep(wait, this.abort.signal);
      }
    }
  }

  private createConsumer(): Consumer {
    const consumer = this.kafka.consumer({
      groupId: this.group,
      // A saver killed with -9 gives its partitions to the others within 10 s.
      sessionTimeout: 10_000,
      rebalanceTimeout: 60_000,
      heartbeatInterval: 3_000,
      maxBytesPerPartition: 1024 * 1024,
      maxBytes: 8 * 1024 * 1024,
      maxWaitTimeInMs: 500,
      // A consumer that crashed (Kafka gone for longer than its retries) restarts instead of dying.
      retry: { initialRetryTime: 300, retries: 10, restartOnFailure: async () => true },
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      if (consumer !== this.consumer) return;
      if (this.state === 'connecting-to-kafka' || this.state === 'restarting') this.state = 'consuming';
      this.generation++;
      this.positions.clear();
      this.dropQueues();
      this.assignment = payload.memberAssignment;
      this.keepBlockedPaused(consumer);
      this.logger.info({ assignment: payload.memberAssignment }, 'joined the group');
      void this.positionAll(this.generation);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (consumer !== this.consumer || this.stopping) return;
      const error = describeError(payload.error);
      this.lastCrash = { error, at: new Date().toISOString(), restartedBy: payload.restart ? 'kafkajs' : 'savers' };
      // Not consuming until it has joined the group again: /health says so meanwhile.
      if (this.state === 'consuming' || this.state === 'connecting-to-kafka') this.state = 'restarting';
      if (payload.restart) {
        this.logger.error({ error, restart: true }, 'consumer crashed; kafkajs restarts it');
        return;
      }
      // kafkajs gives up on a non-retriable error and leaves the consumer stopped: without this the
      // process would stay up, idle, and (before) healthy.
      this.restarting = this.restartConsumer(consumer, payload.error).finally(() => {
        this.restarting = null;
      });
    });
    return consumer;
  }

  /**
   * A crash kafkajs does not restart: a new consumer after a backoff, and after
   * maxConsumerRestarts such restarts in a row, `failed` (the process exits non-zero).
   */
  private async restartConsumer(crashed: Consumer, error: Error): Promise<void> {
    // A crash long after the last one starts a new count (so does every saved batch).
    if (Date.now() - this.lastRestartAt > 10 * 60_000) this.consumerRestarts = 0;
    this.lastRestartAt = Date.now();
    this.consumerRestarts++;
    const described = describeError(error);
    clearInterval(this.hintTimer);
    this.consumer = null;
    if (this.consumerRestarts > this.maxConsumerRestarts) {
      this.state = 'failed';
      this.logger.fatal(
        { error: described, restarts: this.maxConsumerRestarts },
        'the consumer keeps crashing with an error kafkajs does not retry; giving up so that a supervisor restarts the process',
      );
      await crashed.disconnect().catch(() => undefined);
      this.giveUp(error);
      return;
    }
    const wait = backoffMs(this.consumerRestarts - 1, { initialMs: 1_000, maxMs: 30_000 });
    this.metrics.consumerRestarts.inc();
    this.logger.error(
      { error: described, restart: false, restartInMs: wait, restartsInARow: this.consumerRestarts },
      'consumer crashed with an error kafkajs does not retry; restarting it',
    );
    // What was read before the crash is not trusted after it (as after a rebalance).
    this.generation++;
    this.positions.clear();
    this.dropQueues();
    this.assignment = {};
    await crashed.disconnect().catch(() => undefined);
    await sleep(wait, this.abort.signal);
    await this.connectToKafka();
  }

  /**
   * Seeks every assigned partition to the offset stored in PostgreSQL. Needed on every assignment:
   * kafkajs would otherwise resume from the group's Kafka offset, and a partition with nothing new
   * after that offset never produces a batch that could be checked (see eachBatch for the batches
   * fetched before this seek lands).
   */
  private async positionAll(generation: number): Promise<void> {
    // Saves in flight finish first, so that the offsets read below include them.
    await Promise.all([...this.queues.values()].map((q) => q.writing?.catch(() => undefined)));
    for (let attempt = 0; !this.stopping && generation === this.generation; attempt++) {
      try {
        const stored = await readStoredOffsets(this.pool, this.group);
        if (generation !== this.generation || !this.consumer) return;
        for (const [topic, partitions] of Object.entries(this.assignment)) {
          for (const partition of partitions) {
            const offset = stored.get(`${topic}|${partition}`) ?? null;
            this.positions.set(`${topic}|${partition}`, { stored: offset, queued: offset, hinted: true, careful: false });
            this.consumer.seek({ topic, partition, offset: offset ?? '0' });
          }
        }
        this.logger.info('assigned partitions seek to the offsets stored in PostgreSQL');
        return;
      } catch (error) {
        const wait = backoffMs(attempt);
        this.logger.warn({ error: describeError(error), retryInMs: wait }, 'reading the stored offsets failed; retrying');
        await sleep(wait, this.abort.signal);
      }
    }
  }

  /** Forgets what is queued (it is not committed, so it will be fetched again) and resumes paused partitions. */
  private dropQueues(): void {
    for (const queue of this.queues.values()) this.clearQueue(queue);
  }

  /** Paused partitions resume together once the queues are half empty. */
  private resumeIfRoom(): void {
    if (this.queuedMessages >= MAX_QUEUED_MESSAGES / 2) return;
    for (const [key, queue] of this.queues.entries()) {
      if (this.blocked.get(key)?.timer) continue;
      queue.resume?.();
      queue.resume = null;
    }
  }

  private clearQueue(queue: PartitionQueue): void {
    this.queuedMessages -= queue.messages;
    queue.works = [];
    queue.messages = 0;
    this.resumeIfRoom();
  }

  private async writersIdle(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.writing?.catch(() => undefined)));
  }

  private async waitForPostgres(): Promise<void> {
    const where = describePostgresUrl(this.config.realtimeDatabaseUrl);
    for (let attempt = 0; !this.stopping; attempt++) {
      try {
        await this.pool.query('select 1 from consumer_offsets limit 0');
        this.metrics.postgresUp.set(1);
        if (attempt > 0) this.logger.info({ postgres: where }, 'PostgreSQL is back');
        return;
      } catch (error) {
        this.metrics.postgresUp.set(0);
        const wait = backoffMs(attempt, { maxMs: 5_000 });
        const kind = classifyPostgresError(error);
        const message =
          kind === 'not-migrated'
            ? 'the realtime database has no tables yet (run `lambdamart migrate`); waiting'
            : 'PostgreSQL is unreachable; waiting';
        this.logger.warn({ postgres: where, error: describeError(error), retryInMs: wait }, message);
        await sleep(wait, this.abort.signal);
      }
    }
  }

  /**
   * One fetched partition batch: checked against the stored position, validated, turned into
   * staging rows and queued for the partition's writer. kafkajs fetches again as soon as this
   * returns, so fetching and validating overlap with Postgres writing; a queue that grows past
   * its bound pauses its partition until the writer catches up.
   */
  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const key = `${batch.topic}|${batch.partition}`;
    const generation = this.generation;
    // Read in the same tick as isStale(): a position set by a seek (positionAll) is only trusted
    // once that seek has landed, i.e. for batches fetched from the sought offset on.
    let position = this.positions.get(key);
    if (this.stopping || !payload.isRunning() || payload.isStale()) return;
    const kind = this.kindOf.get(batch.topic);
    if (!kind) return;
    if (!position) {
      const stored = await this.withPostgres(
        payload,
        (client) => readStoredOffset(client, this.group, batch.topic, batch.partition),
        batch,
      );
      if (stored === undefined || generation !== this.generation || payload.isStale()) return;
      position = { stored, queued: stored, hinted: true, careful: false };
      this.positions.set(key, position);
      const first = firstBatchAction(stored, fetchedOffset(batch));
      if (first.action === 'seek') {
        this.logger.info(
          { topic: batch.topic, partition: batch.partition, offset: first.offset },
          'seeking to the offset stored in PostgreSQL',
        );
        this.consumer?.seek({ topic: batch.topic, partition: batch.partition, offset: first.offset });
        return;
      }
    }
    if (storedBeyondLog(position.queued, batch.highWatermark)) {
      // Without this, every message of the new log would look already saved and be skipped for good.
      const from = position.queued as string;
      const to = fetchedOffset(batch);
      this.logger.warn(
        { topic: batch.topic, partition: batch.partition, storedOffset: from, highWatermark: batch.highWatermark, restartAt: to },
        'the offset stored in PostgreSQL is past the end of the partition (topic recreated or Kafka data wiped): reading the new log from its start',
      );
      const restarted = await this.withPostgres(
        payload,
        (client) =>
          restartStoredOffset(client, { group: this.group, topic: batch.topic, partition: batch.partition }, from, to).then(() => true),
        batch,
      );
      if (restarted === undefined || this.positions.get(key) !== position) return;
      position = { stored: to, queued: to, hinted: true, careful: false };
      this.positions.set(key, position);
    }
    const nextOffset = nextOffsetAfter(batch.lastOffset(), position.queued);
    if (nextOffset === null) {
      payload.resolveOffset(batch.lastOffset());
      return;
    }
    const prepared = prepareBatch(kind, unsaved(batch.messages, position.queued));
    if (!(await this.sendDeadLetters(payload, prepared))) return;
    if (this.stopping || this.positions.get(key) !== position) return;
    if (position.careful) {
      await this.saveCarefully(payload, kind, position, nextOffset, prepared);
      return;
    }
    const work: Work = {
      expected: position.queued,
      next: nextOffset,
      staged: stagingRows(
        kind,
        prepared.valid.map((v) => v.event),
      ),
      deadLetters: prepared.deadLetters.map(({ raw, rawKey, ...row }) => row),
      messages: prepared.valid.length + prepared.deadLetters.length,
      highWatermark: batch.highWatermark,
    };
    position.queued = nextOffset;
    payload.resolveOffset(batch.lastOffset());
    this.enqueue(key, kind, batch, work, payload);
  }

  private enqueue(key: string, kind: EventKind, batch: Batch, work: Work, payload: EachBatchPayload): void {
    let queue = this.queues.get(key);
    if (!queue) {
      queue = { works: [], messages: 0, writing: null, resume: null };
      this.queues.set(key, queue);
    }
    queue.works.push(work);
    queue.messages += work.messages;
    this.queuedMessages += work.messages;
    if (this.queuedMessages >= MAX_QUEUED_MESSAGES && !queue.resume) {
      queue.resume = payload.pause();
      this.logger.debug(
        { topic: batch.topic, partition: batch.partition, queued: queue.messages },
        'PostgreSQL is behind: partition paused',
      );
    }
    this.startWriter(key, kind, batch.topic, batch.partition, queue);
  }

  private startWriter(key: string, kind: EventKind, topic: string, partition: number, queue: PartitionQueue): void {
    if (queue.writing) return;
    queue.writing = this.write(key, kind, topic, partition, queue)
      .catch((error) => {
        // Unexpected: forget the queue and re-read the stored offset rather than stop the process.
        this.logger.error({ topic, partition, error: describeError(error) }, 'the partition writer failed');
        this.clearQueue(queue);
        this.positions.delete(key);
      })
      .finally(() => {
        queue.writing = null;
        // Batches queued while the writer was rewinding still need a writer.
        if (queue.works.length > 0 && !this.stopping) this.startWriter(key, kind, topic, partition, queue);
      });
  }

  /** The partition's writer: saves its queue in order, merging what queued up into one transaction. */
  private async write(key: string, kind: EventKind, topic: string, partition: number, queue: PartitionQueue): Promise<void> {
    while (queue.works.length > 0) {
      const take: Work[] = [];
      let messages = 0;
      while (queue.works.length > 0 && (take.length === 0 || messages + (queue.works[0]?.messages ?? 0) <= MAX_MERGED_MESSAGES)) {
        const work = queue.works.shift() as Work;
        take.push(work);
        messages += work.messages;
      }
      queue.messages -= messages;
      this.queuedMessages -= messages;
      this.resumeIfRoom();
      const merged = mergeWorks(take);
      const started = process.hrtime.bigint();
      let result: SaveResult | undefined;
      let refused = false;
      try {
        result = await this.withPostgres(
          undefined,
          (client) => saveBatch(client, { group: this.group, topic, partition, kind, ...merged }),
          { topic, partition },
        );
      } catch (error) {
        if (!(error instanceof RefusedAsData)) throw error;
        refused = true;
        this.logger.warn(
          { topic, partition, error: error.message },
          'PostgreSQL refused a batch; saving this partition event by event to find why',
        );
      }
      if (result?.status !== 'saved') {
        if (result?.status === 'moved') {
          this.logger.warn(
            { topic, partition, expected: merged.expected, stored: result.storedOffset },
            'the stored offset moved (another saver or an earlier commit); re-reading it',
          );
        }
        await this.rewind(key, topic, partition, queue, refused);
        return;
      }
      const position = this.positions.get(key);
      if (position && position.stored === merged.expected) {
        position.stored = merged.next;
        position.hinted = false;
      }
      this.recordSave(topic, partition, merged, result, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  /**
   * After a failed or refused save: forget what is queued and go back to the offset Postgres
   * holds. During an outage the probe does this for every partition when Postgres is back.
   */
  private async rewind(key: string, topic: string, partition: number, queue: PartitionQueue, careful: boolean): Promise<void> {
    this.clearQueue(queue);
    this.positions.delete(key);
    if (this.stopping || this.probing) return;
    const generation = this.generation;
    const stored = await this.withPostgres(undefined, (client) => readStoredOffset(client, this.group, topic, partition), {
      topic,
      partition,
    });
    if (stored === undefined || generation !== this.generation || !this.consumer) return;
    this.positions.set(key, { stored, queued: stored, hinted: true, careful });
    this.consumer.seek({ topic, partition, offset: stored ?? '0' });
  }

  /** A partition whose batch Postgres refused: saved batch by batch, refused events dead-lettered. */
  private async saveCarefully(
    payload: EachBatchPayload,
    kind: EventKind,
    position: PartitionPosition,
    nextOffset: string,
    prepared: PreparedBatch,
  ): Promise<void> {
    const { batch } = payload;
    const started = process.hrtime.bigint();
    const result = await this.save(payload, kind, position.queued, nextOffset, prepared);
    if (result?.status !== 'saved') {
      this.positions.delete(`${batch.topic}|${batch.partition}`);
      return;
    }
    position.stored = nextOffset;
    position.queued = nextOffset;
    position.hinted = false;
    position.careful = false;
    payload.resolveOffset(batch.lastOffset());
    const work = {
      expected: null,
      next: nextOffset,
      staged: { tables: {}, events: prepared.valid.length },
      deadLetters: prepared.deadLetters,
      messages: prepared.valid.length + prepared.deadLetters.length,
      highWatermark: batch.highWatermark,
    };
    this.recordSave(batch.topic, batch.partition, work, result, Number(process.hrtime.bigint() - started) / 1e9);
  }

  private recordSave(topic: string, partition: number, work: Work, result: SaveResult & { status: 'saved' }, seconds: number): void {
    this.saved += result.inserted;
    this.lastCommitAt = new Date().toISOString();
    this.consumerRestarts = 0;
    this.unblock(topic, partition);
    this.metrics.events.inc({ topic, outcome: 'saved' }, result.inserted);
    if (result.duplicates > 0) this.metrics.events.inc({ topic, outcome: 'duplicate' }, result.duplicates);
    const deadLetters = work.deadLetters.length;
    if (deadLetters > 0) {
      this.metrics.events.inc({ topic, outcome: 'dead_letter' }, deadLetters);
      this.metrics.deadLetters.inc({ topic }, deadLetters);
    }
    this.metrics.batchSize.observe({ topic }, work.messages);
    this.metrics.commitSeconds.observe({ topic }, seconds);
    const lag = BigInt(work.highWatermark) - BigInt(work.next);
    this.metrics.lag.set({ topic, partition: String(partition) }, Number(lag > 0n ? lag : 0n));
    if (seconds > 5) this.logger.warn({ topic, partition, seconds }, 'PostgreSQL is slow to commit');
    this.logger.debug({ topic, partition, next: work.next, inserted: result.inserted, seconds }, 'batch saved');
  }

  /** Saves the batch; a batch refused as data is split, the refused events dead-lettered, the rest saved. */
  private async save(
    payload: EachBatchPayload,
    kind: EventKind,
    expectedOffset: string | null,
    nextOffset: string,
    prepared: PreparedBatch,
  ): Promise<SaveResult | undefined> {
    const { batch } = payload;
    const write = (p: PreparedBatch) =>
      this.withPostgres(
        payload,
        (client) =>
          saveBatch(client, {
            group: this.group,
            topic: batch.topic,
            partition: batch.partition,
            kind,
            expectedOffset,
            nextOffset,
            staged: stagingRows(
              kind,
              p.valid.map((v) => v.event),
            ),
            deadLetters: p.deadLetters,
          }),
        batch,
      );
    try {
      return await write(prepared);
    } catch (error) {
      if (!(error instanceof RefusedAsData)) throw error;
      this.logger.warn(
        { topic: batch.topic, partition: batch.partition, error: error.message },
        'PostgreSQL refused a batch; finding the events it refuses',
      );
      const refused = await this.withPostgres(
        payload,
        (client) =>
          findRefusedEvents(
            client,
            kind,
            prepared.valid.map((v) => stagingRows(kind, [v.event])),
          ),
        batch,
      );
      if (refused === undefined) return undefined;
      const rest: PreparedBatch = { valid: [], deadLetters: [...prepared.deadLetters] };
      for (const [i, item] of prepared.valid.entries()) {
        const reason = refused.get(i);
        if (reason === undefined) rest.valid.push(item);
        else rest.deadLetters.push(deadLetterRow(item.message, reason));
      }
      const extra = { valid: [], deadLetters: rest.deadLetters.slice(prepared.deadLetters.length) };
      if (!(await this.sendDeadLetters(payload, extra))) return undefined;
      // The caller's counts follow what was really saved.
      prepared.valid = rest.valid;
      prepared.deadLetters = rest.deadLetters;
      try {
        return await write(rest);
      } catch (again) {
        if (!(again instanceof RefusedAsData)) throw again;
        // Refused only together (no event alone is): set the batch apart rather than stop the partition.
        this.logger.error(
          { topic: batch.topic, partition: batch.partition, error: again.message },
          'PostgreSQL refused the batch as a whole; dead-lettering it',
        );
        const whole: PreparedBatch = {
          valid: [],
          deadLetters: [
            ...rest.deadLetters,
            ...rest.valid.map((v) => deadLetterRow(v.message, `refused by PostgreSQL with its batch: ${again.message}`)),
          ],
        };
        if (!(await this.sendDeadLetters(payload, { deadLetters: whole.deadLetters.slice(rest.deadLetters.length) }))) return undefined;
        prepared.valid = [];
        prepared.deadLetters = whole.deadLetters;
        return write(whole);
      }
    }
  }

  /**
   * Runs a Postgres operation until it succeeds. Unreachable: a few quick retries, then every
   * partition is paused and a probe waits for Postgres; the batch is fetched again after. Any
   * other failure that is not about the data (a permission, a limit: SQLSTATE classes 42, 54...):
   * a few quick retries, then the partition it is for is paused and retried with backoff. Returns
   * undefined when the batch was given up for now (stopping, or paused).
   */
  private async withPostgres<T>(
    payload: EachBatchPayload | undefined,
    operation: (client: PoolClient) => Promise<T>,
    partition: { topic: string; partition: number },
  ): Promise<T | undefined> {
    for (let attempt = 0; ; attempt++) {
      if (this.probing || (this.stopping && attempt > 0)) return undefined;
      let client: PoolClient | undefined;
      try {
        client = await this.pool.connect();
        // Staging tables are per session: every connection creates them before its first batch.
        if (!this.preparedSessions.has(client)) {
          // A connection lost between two queries is reported as an 'error' event on the checked-out
          // client; without a listener that event would end the process. The next query fails and is retried.
          client.on('error', (error) => this.logger.debug({ error: describeError(error) }, 'a PostgreSQL connection was lost'));
          await client.query(PREPARE_SESSION_SQL);
          this.preparedSessions.add(client);
        }
        const result = await operation(client);
        client.release();
        this.metrics.postgresUp.set(1);
        return result;
      } catch (error) {
        const kind = classifyPostgresError(error);
        // A connection that failed is not reused: the next attempt opens a new one.
        client?.release(kind === 'data' || kind === 'conflict' ? undefined : true);
        if (kind === 'data') throw new RefusedAsData(describeError(error));
        this.metrics.retries.inc({ cause: kind });
        if (kind === 'conflict') continue;
        if (kind === 'unavailable' || kind === 'not-migrated') this.metrics.postgresUp.set(0);
        if (attempt >= 2 && kind !== 'other') {
          this.pauseUntilPostgresIsBack(error);
          return undefined;
        }
        if (attempt >= 2) {
          this.block(partition.topic, partition.partition, 'postgres', error);
          return undefined;
        }
        const wait = backoffMs(attempt);
        this.logger.warn({ error: describeError(error), attempt: attempt + 1, retryInMs: wait }, 'saving a batch failed; retrying');
        await sleep(wait, this.abort.signal);
        await payload?.heartbeat().catch(() => undefined);
      }
    }
  }

  private pauseUntilPostgresIsBack(error: unknown): void {
    if (this.probing || !this.consumer) return;
    const consumer = this.consumer;
    const all = [...this.kindOf.keys()].map((topic) => ({ topic }));
    consumer.pause(all);
    this.state = 'postgres-down';
    this.logger.error(
      { postgres: describePostgresUrl(this.config.realtimeDatabaseUrl), error: describeError(error) },
      'PostgreSQL is unreachable: partitions paused until it is back (nothing is lost, nothing is committed)',
    );
    this.probing = this.waitForPostgres().then(() => {
      this.probing = null;
      if (this.stopping) return;
      this.positions.clear();
      this.dropQueues();
      this.state = 'consuming';
      consumer.resume(all);
      this.keepBlockedPaused(consumer);
      void this.positionAll(this.generation);
      this.logger.info('partitions resumed from the offsets in PostgreSQL');
    });
  }

  /**
   * Dead letters go to Kafka before the transaction that records them commits: at least once there,
   * exactly once in the table. A topic that refuses them pauses the partition (see block).
   */
  private async sendDeadLetters(payload: EachBatchPayload, prepared: Pick<PreparedBatch, 'deadLetters'>): Promise<boolean> {
    if (prepared.deadLetters.length === 0) return true;
    const { batch } = payload;
    try {
      const { requests } = await this.deadLetters.send({ topic: batch.topic, partition: batch.partition }, prepared.deadLetters, () =>
        payload.heartbeat(),
      );
      if (requests > 1) {
        this.logger.debug(
          { topic: batch.topic, partition: batch.partition, deadLetters: prepared.deadLetters.length, requests },
          'dead letters sent',
        );
      }
      return true;
    } catch (error) {
      if (!this.stopping) this.block(batch.topic, batch.partition, 'dead-letters', error);
      return false;
    }
  }

  /**
   * Pauses a partition whose batch cannot go on for now (see BlockedPartition) and retries it after
   * a backoff that grows while it keeps failing, instead of spinning on it: the other partitions go
   * on, and /health says `degraded` with the reason until the partition saves again.
   */
  private block(topic: string, partition: number, cause: BlockedPartition['cause'], error: unknown): void {
    const key = `${topic}|${partition}`;
    const previous = this.blocked.get(key);
    clearTimeout(previous?.timer);
    const attempts = (previous?.attempts ?? 0) + 1;
    const wait = backoffMs(attempts - 1, { initialMs: 1_000, maxMs: 60_000 });
    const reason = describeError(error);
    const entry: BlockedPartition = {
      topic,
      partition,
      cause,
      reason,
      since: previous?.since ?? new Date().toISOString(),
      attempts,
      retryAt: new Date(Date.now() + wait).toISOString(),
      timer: setTimeout(() => this.retryBlocked(key), wait),
    };
    this.blocked.set(key, entry);
    this.countBlocked();
    this.consumer?.pause([{ topic, partitions: [partition] }]);
    this.metrics.retries.inc({ cause: cause === 'postgres' ? 'other' : 'dead-letters' });
    const what =
      cause === 'postgres'
        ? "PostgreSQL keeps refusing this partition's batch"
        : "the dead-letter topic refuses this partition's dead letters";
    this.logger.error(
      { topic, partition, error: reason, attempts, retryInMs: wait },
      `${what}: partition paused, retried later (nothing is lost, nothing is committed)`,
    );
  }

  /** The backoff of a blocked partition is over: resume it; it stays listed until it saves again. */
  private retryBlocked(key: string): void {
    const entry = this.blocked.get(key);
    if (!entry || this.stopping) return;
    // Every partition is paused while Postgres is down; the probe resumes them all when it is back.
    if (this.probing) {
      entry.timer = setTimeout(() => this.retryBlocked(key), 1_000);
      return;
    }
    entry.timer = undefined;
    this.logger.info({ topic: entry.topic, partition: entry.partition, cause: entry.cause }, 'retrying a paused partition');
    this.consumer?.resume([{ topic: entry.topic, partitions: [entry.partition] }]);
    const queue = this.queues.get(key);
    queue?.resume?.();
    if (queue) queue.resume = null;
  }

  /** A partition saved again: no longer blocked. */
  private unblock(topic: string, partition: number): void {
    const key = `${topic}|${partition}`;
    const entry = this.blocked.get(key);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.blocked.delete(key);
    this.countBlocked();
    this.logger.info({ topic, partition, cause: entry.cause, since: entry.since }, 'a paused partition saves again');
  }

  /** After a (re)join: blocked partitions still ours stay paused on the consumer; the others are not ours to retry. */
  private keepBlockedPaused(consumer: Consumer): void {
    for (const [key, entry] of this.blocked) {
      if (!(this.assignment[entry.topic] ?? []).includes(entry.partition)) {
        clearTimeout(entry.timer);
        this.blocked.delete(key);
      } else if (entry.timer) {
        consumer.pause([{ topic: entry.topic, partitions: [entry.partition] }]);
      }
    }
    this.countBlocked();
  }

  private countBlocked(): void {
    const entries = [...this.blocked.values()];
    for (const cause of ['postgres', 'dead-letters'] as const) {
      this.metrics.blockedPartitions.set({ cause }, entries.filter((e) => e.cause === cause).length);
    }
  }

  /** Passes the saved positions to Kafka as the group's offsets, so Kafka tools show the lag too. */
  private async commitHints(): Promise<void> {
    const consumer = this.consumer;
    if (!consumer || this.stopping) return;
    const offsets = [...this.positions.entries()]
      .filter(([, p]) => !p.hinted && p.stored !== null)
      .map(([key, p]) => {
        const [topic = '', partition = '0'] = key.split('|');
        p.hinted = true;
        return { topic, partition: Number(partition), offset: p.stored ?? '0' };
      });
    if (offsets.length === 0) return;
    await consumer.commitOffsets(offsets).catch((error) => this.logger.debug({ error: describeError(error) }, 'offset hint not committed'));
  }
}

/** Postgres refused a value of the batch (SQLSTATE class 22 or 23): retrying the same rows cannot help. */
class RefusedAsData extends Error {}

/** The offset kafkajs fetched this batch from (not in its typings, but part of every Batch). */
function fetchedOffset(batch: Batch): string {
  return String((batch as Batch & { fetchedOffset?: string }).fetchedOffset ?? batch.firstOffset() ?? '0');
}
