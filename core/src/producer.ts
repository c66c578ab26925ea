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

export interface EventProducer {
  connect(): Promise<void>;
  /** Resolves once the broker has acknowledged every message (acks=all). */
  send(topic: string, messages: OutgoingMessage[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface KafkaProducerOptions {
  /** Idempotent producer: a retried batch is written once (needs acks=all and one in-flight request). */
  idempotent?: boolean;
  compression?: 'none' | 'gzip';
}

/** EventProducer over kafkajs: key-hash partitioning (Java-compatible), acks=all. */
export function createKafkaProducer(kafka: Kafka, options: KafkaProducerOptions = {}): EventProducer {
  const { idempotent = true, compression = 'none' } = options;
  const producer: Producer = kafka.producer({
    idempotent,
    maxInFlightRequests: idempotent ? 1 : 5,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const codec = compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
  return {
    connect: () => producer.connect(),
    async send(topic, messages) {
      if (messages.length === 0) return;
      await producer.send({ topic, acks: -1, compression: codec, messages });
    },
    disconnect: () => producer.disconnect(),
  };
}
