/**
 * core's EventProducer over @platformatic/kafka 1.x, the platform's one producer: it produced our
 * events 1.74x as fast as kafkajs in bench:kafka (issue 14). Only this file and its hot-path helpers
 * (kafka-records.ts: keys hashed once, a request's values encoded at once) name the library. The
 * consumers and the admin stay on kafkajs (core/src/kafka.ts): 1.x (checked up to 1.35.0, the last
 * 1.x; 2.x needs Node 22) has no seek and no per-partition pause, which the savers need.
 */
import { Admin, type MessageToProduce, ProduceAcks, Producer, type RetryDelayGetter, stringSerializer } from '@platformatic/kafka';
import { LambdamartError } from './errors.ts';
import { KeyCache, valueBuffers } from './kafka-records.ts';
import { RepeatedLines } from './log-repeats.ts';
import type { Logger } from './logger.ts';
import type { EventProducer, EventProducerOptions, OutgoingMessage, TopicMessages } from './producer.ts';

type Value = string | Buffer;
type Record = MessageToProduce<string, Value, string, string>;

/** connect() asks for the cluster's metadata this many times before it says Kafka is down (about 3 s). */
const CONNECT_RETRIES = 6;
const CONNECT_RETRY_DELAY_MS = 500;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Attempts of one request before produce() refreshes the metadata and sends again. */
const IDEMPOTENT_REQUEST_RETRIES = 3;

/** As kafkajs's idempotent producer did: 100 ms, doubling, at most 5 s between attempts. */
const backoffMs = (attempt: number) => Math.min(100 * 2 ** Math.max(0, attempt - 1), 5_000);
const backoff: RetryDelayGetter = (_client, _operation, attempt) => backoffMs(attempt);

/** One per thread: the producers of a generator worker share their users' keys. */
const keys = new KeyCache();

/** The partition before the library takes it modulo the topic's partition count. */
function partitionOf(message: Record): number {
  if (typeof message.partition === 'number') return message.partition;
  return message.key === undefined ? 0 : keys.partition(message.key);
}

/** A failure worth sending again: no broker answered, or every broker error was a retriable one. */
function isRetriable(error: unknown): boolean {
  const all = leaves(error) as LibraryError[];
  if (all.some((e) => e.code === 'PLT_KFK_NETWORK' || /^E[A-Z]+$/.test(e.code ?? ''))) return true;
  return all.some((e) => e.apiId) && all.every((e) => !e.apiId || e.canRetry !== false);
}

/** The records of `records` whose partition no broker acknowledged in the failed send. */
async function unacknowledged(producer: Producer<string, Value, string, string>, records: Record[], error: unknown): Promise<Record[]> {
  const produced = (error as { produced?: { offsets?: { topic: string; partition: number }[] } }).produced;
  const acknowledged = new Set((produced?.offsets ?? []).map((o) => `${o.topic}:${o.partition}`));
  if (acknowledged.size === 0) return records;
  const metadata = await producer.metadata({ topics: [...new Set(records.map((r) => r.topic))] });
  return records.filter((r) => {
    const count = metadata.topics.get(r.topic)?.partitionsCount ?? 1;
    return !acknowledged.has(`${r.topic}:${partitionOf(r) % count}`);
  });
}

export function createPlatformaticProducer(options: EventProducerOptions): EventProducer {
  const { brokers, clientId, logger, idempotent = true, compression = 'none', retries, connectTimeoutMs, requestTimeoutMs } = options;
  const timeouts = {
    ...(connectTimeoutMs !== undefined ? { connectTimeout: connectTimeoutMs } : {}),
    ...(requestTimeoutMs !== undefined ? { timeout: requestTimeoutMs } : {}),
  };
  let roundRobin = 0;
  const producer = new Producer<string, Value, string, string>({
    clientId,
    bootstrapBrokers: brokers,
    idempotent,
    acks: ProduceAcks.ALL,
    compression,
    autocreateTopics: false,
    ...timeouts,
    // The library retries a request a few times, always on the leader it first looked up: a killed
    // leader would be asked until the metadata expires (5 min). So it gives up soon, and produce()
    // below refreshes the metadata and sends again what was not acknowledged (idempotent: without end,
    // with kafkajs's backoff; the others as asked).
    ...(idempotent
      ? { retries: IDEMPOTENT_REQUEST_RETRIES, retryDelay: backoff }
      : retries !== undefined
        ? { retries, retryDelay: 200 }
        : {}),
    // Keyed: murmur2 & 0x7fffffff, as Java and kafkajs's DefaultPartitioner, so a user's events stay
    // on one partition whichever client sent them (the library's default partitioner differs).
    // Unkeyed: spread round robin (toRecord pins the partition, so a record sent again keeps it).
    partitioner: (message) => partitionOf(message),
    serializers: {
      key: (key?: string) => (key === undefined ? undefined : keys.bytes(key)),
      value: (value?: Value) => (typeof value === 'string' ? Buffer.from(value) : value),
      headerKey: stringSerializer,
      headerValue: stringSerializer,
    },
  });
  let closing = false;
  if (logger) logRetries(producer, logger, () => closing);

  // 1.x advances an idempotent producer's sequence numbers only when a response arrives: two
  // requests in flight would share a sequence and the broker would refuse the second
  // (OUT_OF_ORDER_SEQUENCE_NUMBER). So requests go one after the other.
  let last: Promise<unknown> = Promise.resolve();
  const sendUntilAcknowledged = async (records: Record[]): Promise<void> => {
    let pending = records;
    for (let attempt = 1; ; attempt++) {
      try {
        await producer.send({ messages: pending });
        return;
      } catch (error) {
        if (!isRetriable(error)) throw error;
        // A leader may have moved or died: ask again which broker leads each partition.
        producer.clearMetadata();
        if (!idempotent || closing) throw error;
        // Only what no broker acknowledged: those partitions' sequence numbers did not advance, so a
        // batch the broker did write before the failure is recognised and written once.
        await sleep(backoffMs(attempt));
        for (;;) {
          try {
            pending = await unacknowledged(producer, pending, error);
            break;
          } catch {
            // No broker to ask yet (all restarting): sending everything again could write twice.
            if (closing) throw error;
            await sleep(backoffMs(++attempt));
          }
        }
        if (pending.length === 0) return;
      }
    }
  };
  const produce = (records: Record[]): Promise<void> => {
    const sent = last.catch(() => undefined).then(() => sendUntilAcknowledged(records));
    last = sent;
    return sent.then(
      () => undefined,
      (error: unknown) => {
        throw producerFailure(brokers, error);
      },
    );
  };
  const toRecord = (topic: string, m: OutgoingMessage, value: Value = m.value): Record => ({
    topic,
    value,
    ...(m.key === null ? { partition: roundRobin++ } : { key: m.key }),
    ...(m.headers ? { headers: m.headers } : {}),
  });
  return {
    // The library connects on first use, and an idempotent producer would retry its first request
    // without end: a short-lived client asks for the cluster's metadata a few times instead, so that
    // a Kafka that is down is one clear error within seconds.
    async connect() {
      const probe = new Admin({
        clientId,
        bootstrapBrokers: brokers,
        retries: CONNECT_RETRIES,
        retryDelay: CONNECT_RETRY_DELAY_MS,
        ...timeouts,
      });
      try {
        await probe.metadata({ topics: [] });
      } catch (error) {
        throw producerFailure(brokers, error);
      } finally {
        await probe.close().catch(() => undefined);
      }
    },
    // send and sendBatch are not async: a suspended async function would keep the messages (and
    // their strings) until the broker answers; only the records need to wait for it.
    send(topic, messages) {
      if (messages.length === 0) return Promise.resolve();
      const values = valueBuffers(messages);
      return produce(messages.map((m, i) => toRecord(topic, m, values[i])));
    },
    sendBatch(batch: TopicMessages[]) {
      const records: Record[] = [];
      for (const entry of batch) {
        const values = valueBuffers(entry.messages);
        for (let i = 0; i < entry.messages.length; i++)
          records.push(toRecord(entry.topic, entry.messages[i] as OutgoingMessage, values[i]));
      }
      if (records.length === 0) return Promise.resolve();
      return produce(records);
    },
    disconnect: async () => {
      await last.catch(() => undefined);
      closing = true;
      await producer.close();
    },
  };
}

/** What went wrong at the bottom of the library's chains of MultipleErrors and causes. */
function leaves(error: unknown, depth = 0): Error[] {
  if (!(error instanceof Error) || depth > 8) return error instanceof Error ? [error] : [new Error(String(error))];
  const nested = error instanceof AggregateError ? error.errors : [];
  if (nested.length > 0) return nested.flatMap((e) => leaves(e, depth + 1));
  if (error.cause instanceof Error) return leaves(error.cause, depth + 1);
  return [error];
}

interface LibraryError extends Error {
  code?: string;
  apiId?: string;
  canRetry?: boolean;
}

/** A failure that says more than the broker's reason: its error name (MESSAGE_TOO_LARGE...). */
function describeLeaf(error: LibraryError): string {
  return error.apiId ? `${error.message} (${error.apiId})` : error.message;
}

/**
 * The library's errors in the catalogue's terms, one line each:
 * - LM_ERR_KAFKA_UNREACHABLE: no broker answered (refused, reset, timed out);
 * - LM_ERR_KAFKA_NOT_READY: a broker answered with an error worth retrying (no leader yet, a
 *   topic it does not know yet) and the retries ran out;
 * - LM_ERR_KAFKA_PRODUCE_REFUSED: a broker refused for a reason retrying cannot fix (too large, an ACL).
 */
export function producerFailure(brokers: readonly string[], error: unknown): LambdamartError {
  if (error instanceof LambdamartError) return error;
  const all = leaves(error) as LibraryError[];
  const network = all.find((e) => e.code === 'PLT_KFK_NETWORK' || /^E[A-Z]+$/.test(e.code ?? ''));
  if (network) {
    return new LambdamartError('LM_ERR_KAFKA_UNREACHABLE', `Kafka at ${brokers.join(',')} did not answer: ${network.message}`, {
      hint: 'start it with `lambdamart stack up`, or check KAFKA_BROKERS',
      cause: error,
    });
  }
  const refused = all.find((e) => e.apiId && e.canRetry === false);
  if (refused)
    return new LambdamartError('LM_ERR_KAFKA_PRODUCE_REFUSED', `Kafka refuses the messages: ${describeLeaf(refused)}`, { cause: error });
  const retriable = all.find((e) => e.apiId) ?? all[0];
  return new LambdamartError(
    'LM_ERR_KAFKA_NOT_READY',
    `Kafka could not take the messages yet: ${describeLeaf(retriable ?? new Error(String(error)))}`,
    {
      cause: error,
    },
  );
}

/** Retried requests and lost brokers, through our logger, each line once per 30 s with a count. */
function logRetries(producer: Producer<string, Value, string, string>, logger: Logger, closing: () => boolean): void {
  const lines = new RepeatedLines();
  const warn = (key: string, fields: object, message: string) => {
    if (closing()) return;
    const { log, repeated } = lines.admit(key);
    if (log) logger.warn({ kafka: 'producer', ...fields, ...(repeated > 0 ? { repeated } : {}) }, message);
  };
  producer.on('client:broker:failed', ({ broker }: { broker: { host: string; port: number } }) =>
    warn(`failed ${broker.host}:${broker.port}`, { broker: `${broker.host}:${broker.port}` }, 'could not connect to a Kafka broker'),
  );
  producer.on('client:broker:disconnect', ({ broker }: { broker: { host: string; port: number } }) =>
    warn(`disconnect ${broker.host}:${broker.port}`, { broker: `${broker.host}:${broker.port}` }, 'a Kafka broker closed the connection'),
  );
  producer.on('client:performWithRetry:retry', (operation: string, attempt: number) =>
    warn(`retry ${operation}`, { operation, attempt: attempt + 1 }, 'a Kafka request failed; retrying'),
  );
}
