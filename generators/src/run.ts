/**
 * `lambdamart generate` and the generator of `npm start`: one code path from options to a sink
 * (Kafka or a JSON-lines file), stopping on the duration, the end of the history or the signal,
 * and always waiting for what is in flight before it returns the summary. The events are made,
 * encoded and sent by worker threads (workers.ts), the same events for any number of them.
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import {
  type Config,
  createEventProducer,
  createLogger,
  type EventProducer,
  type Logger,
  type ProducerCompression,
  Topics,
} from '@lambdamart/core';
import type { GeneratorOptions } from './generate.ts';
import type { GeneratorSummary } from './send.ts';
import { checkWorkers, defaultWorkers, runWorkers } from './workers.ts';

export interface RunGeneratorOptions extends GeneratorOptions {
  /** Events per second, or 'max'. */
  rate: number | 'max';
  durationMs?: number;
  /** Write JSON lines to this file instead of Kafka. */
  out?: string;
  batchSize?: number;
  maxInFlight?: number;
  /** Idempotent producers side by side in each worker (default 2); a key always uses the same one. */
  producers?: number;
  /**
   * Worker threads that make, encode and send the events (default: defaultWorkers, one per core
   * for --rate max). The events are the same for any number: only the speed changes.
   */
  workers?: number;
  compression?: ProducerCompression;
  /** Topic to write instead of each real topic (tests and benchmarks use topics of their own). */
  topicFor?: (topic: string) => string;
  onProgress?: (progress: GeneratorSummary) => void;
  /** Default: a pino logger at the configured level. */
  logger?: Logger;
}

/** Event-time rate of a live run at `--rate max`: timestamps then run ahead of the clock, by design. */
export const MaxRateEventTimeRate = 500;

export function generatorOptionsFor(options: RunGeneratorOptions): GeneratorOptions {
  const live = options.days === undefined;
  return {
    ...options,
    eventsPerSecond: options.eventsPerSecond ?? (live && options.rate !== 'max' ? options.rate : MaxRateEventTimeRate),
  };
}

/** The producers of one generator worker, connected: each worker has its own, so Kafka's encoding runs on every core. */
export async function connectGeneratorProducers(
  config: Config,
  count: number,
  compression: ProducerCompression,
  logger: Logger,
): Promise<EventProducer[]> {
  const producers: EventProducer[] = Array.from({ length: count }, () =>
    createEventProducer({ ...config.kafka, clientId: `${config.kafka.clientId}-generator`, logger, idempotent: true, compression }),
  );
  try {
    await Promise.all(producers.map((producer) => producer.connect()));
  } catch (error) {
    await Promise.allSettled(producers.map((producer) => producer.disconnect()));
    throw error;
  }
  return producers;
}

const generatorTopics = [Topics.transactions.name, Topics.productViews.name, Topics.cartEvents.name, Topics.productCatalog.name];

export async function runGenerator(config: Config, options: RunGeneratorOptions, signal: AbortSignal): Promise<GeneratorSummary> {
  const logger = options.logger ?? createLogger('generator', config.logLevel);
  const workers = checkWorkers(options.workers ?? defaultWorkers(options.rate));
  const { rate, durationMs, out, batchSize, maxInFlight, onProgress } = options;
  // Plain data for the workers (no logger, no callbacks), with the start fixed here: all must use the same.
  const { seed, users, products, mix, days, eventsPerDay, eventsPerSecond, count, badRate, productChangeIntervalDays, customerMoveRate } =
    generatorOptionsFor(options);
  const generator: GeneratorOptions = {
    seed,
    users,
    products,
    mix,
    start: options.start ?? Date.now(),
    days,
    eventsPerDay,
    eventsPerSecond,
    count,
    badRate,
    productChangeIntervalDays,
    customerMoveRate,
  };
  const send = { rate, durationMs, batchSize, maxInFlight };

  if (out !== undefined) {
    const file = createWriteStream(out);
    try {
      const write = async (chunk: string) => {
        if (!file.write(chunk)) await once(file, 'drain');
      };
      const summary = await runWorkers({ generator, workers, send, sink: { kind: 'jsonl', write }, signal, onProgress });
      file.end();
      await finished(file);
      logger.info({ summary, out, workers }, 'generator finished');
      return summary;
    } finally {
      file.destroy();
    }
  }

  const topicFor = options.topicFor ?? ((topic: string) => topic);
  logger.info({ rate, workers, brokers: config.kafka.brokers }, 'generator started');
  const summary = await runWorkers({
    generator,
    workers,
    send,
    sink: {
      kind: 'kafka',
      config,
      producers: options.producers ?? 2,
      compression: options.compression ?? 'none',
      topics: Object.fromEntries(generatorTopics.map((topic) => [topic, topicFor(topic)])),
      logLevel: logger.level,
    },
    signal,
    onProgress,
  });
  logger.info({ summary }, 'generator finished');
  return summary;
}
