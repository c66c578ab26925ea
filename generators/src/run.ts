/**
 * `lambdamart generate` and the generator of `npm start`: one code path from options to a sink
 * (Kafka or a JSON-lines file), stopping on the duration, the end of the history or the signal,
 * and always waiting for what is in flight before it returns the summary.
 */
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import {
  type Config,
  createEventProducer,
  createLogger,
  type EventProducer,
  type Logger,
  type ProducerCompression,
} from '@lambdamart/core';
import { type GeneratorOptions, generateEvents } from './generate.ts';
import { type GeneratorSummary, sendEvents } from './send.ts';
import { jsonlSink, kafkaSink } from './sinks.ts';

export interface RunGeneratorOptions extends GeneratorOptions {
  /** Events per second, or 'max'. */
  rate: number | 'max';
  durationMs?: number;
  /** Write JSON lines to this file instead of Kafka. */
  out?: string;
  batchSize?: number;
  maxInFlight?: number;
  /** Idempotent producers working side by side (default 2); a key always uses the same one. */
  producers?: number;
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

export async function runGenerator(config: Config, options: RunGeneratorOptions, signal: AbortSignal): Promise<GeneratorSummary> {
  const logger = options.logger ?? createLogger('generator', config.logLevel);
  const events = generateEvents(generatorOptionsFor(options));
  const send = {
    rate: options.rate,
    durationMs: options.durationMs,
    signal,
    batchSize: options.batchSize,
    maxInFlight: options.maxInFlight,
    onProgress: options.onProgress,
  };

  if (options.out !== undefined) {
    const file = createWriteStream(options.out);
    try {
      const summary = await sendEvents(jsonlSink(file), events, send);
      file.end();
      await finished(file);
      logger.info({ summary, out: options.out }, 'generator finished');
      return summary;
    } finally {
      file.destroy();
    }
  }

  const producers: EventProducer[] = Array.from({ length: options.producers ?? 2 }, () =>
    createEventProducer({
      ...config.kafka,
      clientId: `${config.kafka.clientId}-generator`,
      logger,
      idempotent: true,
      compression: options.compression ?? 'none',
    }),
  );
  await Promise.all(producers.map((producer) => producer.connect()));
  logger.info({ rate: options.rate, brokers: config.kafka.brokers }, 'generator started');
  try {
    const summary = await sendEvents(kafkaSink(producers, { topicFor: options.topicFor }), events, send);
    logger.info({ summary }, 'generator finished');
    return summary;
  } finally {
    await Promise.allSettled(producers.map((producer) => producer.disconnect()));
  }
}
