/**
 * Where generated events go: Kafka (through core's EventProducer) or a JSON-lines file. Both take
 * a batch and resolve once it is safe: acknowledged by the broker, or handed to the file.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { type EventProducer, LambdamartError, type OutgoingMessage, type TopicMessages } from '@lambdamart/core';
import type { GeneratedEvent } from './generated-event.ts';

export interface EventSink {
  /**
   * `values[i]` is the serialized payload of `events[i]`: a string, or its UTF-8 bytes for a sink
   * that takes `bytes`. Resolves when the batch is stored.
   */
  write(events: readonly GeneratedEvent[], values: readonly (string | Buffer)[]): Promise<void>;
  /** Takes values as UTF-8 bytes too: the generator then encodes each as it is made (value-bytes.ts). */
  readonly bytes?: boolean;
}

/** FNV-1a of the key: the same key always goes through the same producer, so its order holds. */
function keyHash(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/**
 * A sink over one or more producers. Each batch becomes one produce request per producer, all
 * topics together; with several producers (each idempotent, with its own connection) requests
 * overlap, which one idempotent kafkajs producer never does. A producer's requests go one after
 * the other, in the order of the batches: two in the client at once can overtake each other (a
 * metadata fetch, a retry), which would reorder a key's events.
 */
export function kafkaSink(producers: readonly EventProducer[], options: { topicFor?: (topic: string) => string } = {}): EventSink {
  if (producers.length === 0) throw new LambdamartError('LM_ERR_GENERATOR_OPTION_INVALID', 'kafkaSink needs a producer');
  const topicFor = options.topicFor ?? ((topic: string) => topic);
  const tails: Promise<void>[] = producers.map(() => Promise.resolve());
  const inOrder = (i: number, send: () => Promise<void>): Promise<void> => {
    const sent = (tails[i] as Promise<void>).then(send);
    tails[i] = sent.catch(() => undefined);
    return sent;
  };
  return {
    bytes: true,
    // Not async: a suspended async function would keep `events` until the broker answers, and
    // only the messages need to wait for it.
    write(events, values) {
      const parts = producers.map(() => new Map<string, OutgoingMessage[]>());
      for (let i = 0; i < events.length; i++) {
        const event = events[i] as GeneratedEvent;
        const part = parts[producers.length === 1 ? 0 : keyHash(event.key) % producers.length] as Map<string, OutgoingMessage[]>;
        let messages = part.get(event.topic);
        if (messages === undefined) {
          messages = [];
          part.set(event.topic, messages);
        }
        messages.push({ key: event.key, value: values[i] as string | Buffer });
      }
      return Promise.all(
        parts.map((part, i) => {
          const batch: TopicMessages[] = [...part].map(([topic, messages]) => ({ topic: topicFor(topic), messages }));
          return batch.length > 0 ? inOrder(i, () => (producers[i] as EventProducer).sendBatch(batch)) : undefined;
        }),
      ).then(() => undefined);
    },
  };
}

/** One JSON line per event: `{"kind","topic","key","time","bad"?,"event"|"raw"}`, the same events Kafka would get. */
export function jsonLine(event: GeneratedEvent, value: string): string {
  const head = `{"kind":"${event.kind}","topic":"${event.topic}","key":${JSON.stringify(event.key)},"time":${Math.floor(event.time)}`;
  const bad = event.bad === undefined ? '' : `,"bad":"${event.bad}"`;
  return event.raw === undefined ? `${head}${bad},"event":${value}}\n` : `${head}${bad},"raw":${JSON.stringify(event.raw)}}\n`;
}

/** A sink that appends JSON lines to a stream, waiting for 'drain' so memory stays flat. */
export function jsonlSink(stream: Writable): EventSink {
  return {
    async write(events, values) {
      let chunk = '';
      for (let i = 0; i < events.length; i++) chunk += jsonLine(events[i] as GeneratedEvent, String(values[i]));
      if (!stream.write(chunk)) await once(stream, 'drain');
    },
  };
}
