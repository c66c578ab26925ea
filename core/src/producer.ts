/**
 * The producer side of Kafka behind a small interface: the generators, the API's POST /events, the
 * savers' dead letters, `lambdamart dlq replay` and `import` produce through createEventProducer and
 * never name the client library. The client is @platformatic/kafka (kafka-platformatic.ts), which
 * produced our events 1.74x as fast as kafkajs in bench:kafka; consumers and admin stay on kafkajs.
 */

import type { Logger } from './logger.ts';

export interface OutgoingMessage {
  key: string | null;
  value: string | Buffer;
  headers?: Record<string, string>;
}

export interface TopicMessages {
  topic: string;
  messages: OutgoingMessage[];
}

export interface EventProducer {
  /** Fails with LM_ERR_KAFKA_UNREACHABLE within seconds when no broker answers. */
  connect(): Promise<void>;
  /** Resolves once the broker has acknowledged every message (acks=all). */
  send(topic: string, messages: OutgoingMessage[]): Promise<void>;
  /** Several topics in one produce request per broker; resolves once all are acknowledged. */
  sendBatch(batch: TopicMessages[]): Promise<void>;
  disconnect(): Promise<void>;
}

export type ProducerCompression = 'none' | 'gzip';

export interface KafkaProducerOptions {
  /** Idempotent producer: a retried batch is written once (acks=all, one request in flight). */
  idempotent?: boolean;
  compression?: ProducerCompression;
  /**
   * Retries of a send that failed with a retriable error, for a producer that is not idempotent
   * (an idempotent one retries without end). A caller that must not block for long sets it low.
   */
  retries?: number;
}

export interface EventProducerOptions extends KafkaProducerOptions {
  brokers: string[];
  clientId: string;
  /** Retries and lost brokers are logged here (each line once per 30 s); without a logger, nothing is logged. */
  logger?: Logger;
  /** Time allowed to open a connection to a broker (default 5000 ms). */
  connectTimeoutMs?: number;
  /** Time allowed for a broker's answer to one request (default 5000 ms). */
  requestTimeoutMs?: number;
}

/**
 * The platform's producer: acks=all, idempotent unless told otherwise, keys partitioned as Java and
 * kafkajs do (murmur2), headers kept. Its failures are LambdamartErrors: LM_ERR_KAFKA_UNREACHABLE,
 * LM_ERR_KAFKA_NOT_READY or LM_ERR_KAFKA_PRODUCE_REFUSED.
 */
export function createEventProducer(options: EventProducerOptions): EventProducer {
  // The library is loaded on first use, not with core: loading it costs ~45 MB of resident memory
  // (a process that imports core only to read, or imports a CSV into a file, does not pay it).
  let loaded: Promise<EventProducer> | undefined;
  const producer = () => {
    loaded ??= import('./kafka-platformatic.ts').then((client) => client.createPlatformaticProducer(options));
    return loaded;
  };
  return {
    connect: async () => (await producer()).connect(),
    send: async (topic, messages) => (await producer()).send(topic, messages),
    sendBatch: async (batch) => (await producer()).sendBatch(batch),
    disconnect: async () => {
      if (loaded) await (await loaded).disconnect();
    },
  };
}
