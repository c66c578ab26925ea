/**
 * The messages bench:kafka sends: the generator's own events (same seed, same keys, same JSON), each
 * with the header set our dead letters carry, so that header encoding and decoding are in the path.
 * Built before a phase starts, so the timing covers the Kafka client only.
 */
import { DeadLetterHeaders } from '@lambdamart/core';
import { generateEvents, MaxRateEventTimeRate, serializeEvent } from '@lambdamart/generators';

/** A fixed event time, so that every phase (and every run) sends byte for byte the same messages. */
const WORKLOAD_START = Date.UTC(2026, 0, 1);

export interface WorkloadMessage {
  topic: string;
  key: string;
  value: string;
  headers: Record<string, string>;
}

export interface Workload {
  messages: WorkloadMessage[];
  /** Bytes of keys, values and header names and values: what MB/s counts. */
  bytes: number;
}

export function buildWorkload(options: { events: number; seed: number; topicFor: (topic: string) => string; headers: boolean }): Workload {
  const messages: WorkloadMessage[] = [];
  let bytes = 0;
  let n = 0;
  for (const event of generateEvents({ seed: options.seed, eventsPerSecond: MaxRateEventTimeRate, start: WORKLOAD_START })) {
    if (n >= options.events) break;
    const value = serializeEvent(event);
    const headers: Record<string, string> = options.headers
      ? {
          [DeadLetterHeaders.sourceTopic]: event.topic,
          [DeadLetterHeaders.sourcePartition]: String(n % 3),
          [DeadLetterHeaders.sourceOffset]: String(n),
        }
      : {};
    messages.push({ topic: options.topicFor(event.topic), key: event.key, value, headers });
    bytes += Buffer.byteLength(event.key) + Buffer.byteLength(value);
    for (const [name, v] of Object.entries(headers)) bytes += Buffer.byteLength(name) + Buffer.byteLength(v);
    n++;
  }
  return { messages, bytes };
}

/** Splits the messages into produce requests of `size` messages (all topics together, as kafkaSink sends). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs `send` over the chunks with at most `inFlight` unresolved at once, in order of start. */
export async function pipelined<T>(items: readonly T[], inFlight: number, send: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(inFlight, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await send(item);
    }
  });
  await Promise.all(lanes);
}
