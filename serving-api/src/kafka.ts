/**
 * The API's Kafka clients (the admin for /ready and the pipeline status, the producer for POST
 * /events), created on first use so that the API starts (and reads) without Kafka.
 */
import { type Config, createEventProducer, createKafka, type EventProducer, type Logger } from '@lambdamart/core';
import type { Admin, Kafka } from 'kafkajs';

export class KafkaClients {
  private kafka: Kafka | null = null;
  private admin: Promise<Admin> | null = null;
  private producer: Promise<EventProducer> | null = null;

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
    private readonly injected?: EventProducer,
  ) {}

  private client(): Kafka {
    // Few retries: a request waits on this, and a 503 with Retry-After beats a minute's hang.
    this.kafka ??= createKafka({
      ...this.config.kafka,
      clientId: 'lambdamart-api',
      logger: this.logger,
      retry: { retries: 2, initialRetryTime: 200 },
      connectionTimeout: 2000,
    });
    return this.kafka;
  }

  async getAdmin(): Promise<Admin> {
    this.admin ??= (async () => {
      const admin = this.client().admin();
      await admin.connect();
      return admin;
    })();
    try {
      return await this.admin;
    } catch (error) {
      this.admin = null;
      throw error;
    }
  }

  async getProducer(): Promise<EventProducer> {
    this.producer ??= (async () => {
      // Not the idempotent producer: it retries without end (a missing topic would hang the request).
      // A bounded retry may write an event twice, which the savers' primary keys absorb. Few retries
      // and short timeouts, as for the admin above: a 503 with Retry-After beats a minute's hang.
      const producer =
        this.injected ??
        createEventProducer({
          ...this.config.kafka,
          clientId: 'lambdamart-api',
          logger: this.logger,
          idempotent: false,
          retries: 2,
          connectTimeoutMs: 2000,
        });
      await producer.connect();
      return producer;
    })();
    try {
      return await this.producer;
    } catch (error) {
      this.producer = null;
      throw error;
    }
  }

  async close(): Promise<void> {
    const admin = this.admin;
    const producer = this.producer;
    this.admin = null;
    this.producer = null;
    await Promise.all([
      admin?.then((a) => a.disconnect()).catch(() => undefined),
      // An injected producer belongs to the caller.
      this.injected ? undefined : producer?.then((p) => p.disconnect()).catch(() => undefined),
    ]);
  }
}
