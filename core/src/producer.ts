/**
 * The producer side of Kafka behind a small interface, so that the generators and the dead-letter
 * path do not depend on kafkajs directly, and another client could replace it if a benchmark ever
 * shows kafkajs to be the bottleneck.
 */
import { CompressionTypes, type Kafka, Partitioners, type Producer } from 'kafkajs';

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
  connect(): Promise<void>;
  /** Resolves once the broker has acknowledged every message (acks=all). */
  send(topic: string, messages: OutgoingMessage[]): Promise<void>;
  /** Several topics in one produce request per broker; resolves once all are acknowledged. */
  sendBatch(batch: TopicMessages[]): Promise<void>;
  disconnect(): Promise<void>;
}

export type ProducerCompression = 'none' | 'gzip';

export interface KafkaProducerOptions {
  /** Idempotent producer: a retried batch is written once (needs acks=all and one in-flight request). */
  idempotent?: boolean;
  compression?: ProducerCompression;
  /**
   * Retries of a send that failed with a retriable error, for a producer that is not idempotent
   * (an idempotent one retries without end). A caller that must not block for long sets it low.
   */
  retries?: number;
}

/** EventProducer over kafkajs: key-hash partitioning (Java-compatible), acks=all. */
export function createKafkaProducer(kafka: Kafka, options: KafkaProducerOptions = {}): EventProducer {
  const { idempotent = true, compression = 'none', retries } = options;
  const producer: Producer = kafka.producer({
    idempotent,
    maxInFlightRequests: idempotent ? 1 : 5,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    // An idempotent producer retries transient errors (a leader moving, a broker restarting) with
    // backoff without ever writing a batch twice.
    ...(idempotent ? { retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 5000 } } : {}),
    ...(!idempotent && retries !== undefined ? { retry: { retries, initialRetryTime: 100, maxRetryTime: 1000 } } : {}),
  });
  const codec = compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
  return {
    connect: () => producer.connect(),
    async send(topic, messages) {
      if (messages.length === 0) return;
      await producer.send({ topic, acks: -1, compression: codec, messages });
    },
    async sendBatch(batch) {
      const topicMessages = batch.filter((entry) => entry.messages.length > 0);
      if (topicMessages.length === 0) return;
      await producer.sendBatch({ topicMessages, acks: -1, compression: codec });
    },
    disconnect: () => producer.disconnect(),
  };
}
