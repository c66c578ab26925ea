import { createMetricsRegistry } from '@lambdamart/core';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The savers' Prometheus metrics; events/s by topic is `rate(lambdamart_speed_events_total[1m])`. */
export function createSaverMetrics(registry: Registry = createMetricsRegistry('speed-layer')) {
  return {
    registry,
    events: new Counter({
      name: 'lambdamart_speed_events_total',
      help: 'Events read by the savers, by topic and outcome (saved, duplicate, dead_letter)',
      labelNames: ['topic', 'outcome'] as const,
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'lambdamart_speed_dead_letters_total',
      help: 'Messages sent to the dead letters, by source topic',
      labelNames: ['topic'] as const,
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'lambdamart_speed_batch_size',
      help: 'Messages per saved partition batch',
      labelNames: ['topic'] as const,
      buckets: [1, 10, 100, 500, 1000, 2500, 5000, 10000, 25000],
      registers: [registry],
    }),
    commitSeconds: new Histogram({
      name: 'lambdamart_speed_commit_seconds',
      help: 'Time to save one partition batch (COPY, move, offsets, commit)',
      labelNames: ['topic'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    lag: new Gauge({
      name: 'lambdamart_speed_consumer_lag',
      help: 'Messages in the partition after the last saved offset',
      labelNames: ['topic', 'partition'] as const,
      registers: [registry],
    }),
    postgresUp: new Gauge({
      name: 'lambdamart_speed_postgres_up',
      help: '1 when the last write to the realtime database succeeded, 0 while it is unreachable',
      registers: [registry],
    }),
    blockedPartitions: new Gauge({
      name: 'lambdamart_speed_blocked_partitions',
      help: 'Partitions paused because Postgres (cause=postgres) or the dead-letter topic (cause=dead-letters) keeps refusing their batch',
      labelNames: ['cause'] as const,
      registers: [registry],
    }),
    consumerRestarts: new Counter({
      name: 'lambdamart_speed_consumer_restarts_total',
      help: 'Consumers restarted by the savers after a crash kafkajs does not restart itself',
      registers: [registry],
    }),
    retries: new Counter({
      name: 'lambdamart_speed_retries_total',
      help: 'Batches retried after a failure, by cause',
      labelNames: ['cause'] as const,
      registers: [registry],
    }),
  };
}

export type SaverMetrics = ReturnType<typeof createSaverMetrics>;
