/**
 * One generator worker thread (started by workers.ts): it makes the events of its shards, turns
 * them into bytes and sends them, with producers of its own (so Kafka's record encoding runs on
 * every core), or hands JSON lines to the main thread, which merges the workers into one file.
 * It starts sending on 'go', stops cleanly on 'stop' (what is in flight is acknowledged first),
 * and ends with its summary.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger, type EventProducer, LambdamartError } from '@lambdamart/core';
import { generateShardEvents } from './generate.ts';
import type { GeneratedEvent } from './generated-event.ts';
import { connectGeneratorProducers } from './run.ts';
import { type GeneratorSummary, sendEvents } from './send.ts';
import { type EventSink, jsonLine, kafkaSink } from './sinks.ts';
import type { FromMain, FromWorker, WorkerJob } from './workers.ts';

const port = parentPort;
if (port === null) throw new Error('worker.ts runs in a worker thread (see workers.ts)');
const job = workerData as WorkerJob;
const post = (message: FromWorker) => port.postMessage(message);

const stop = new AbortController();
let go: () => void = () => undefined;
const started = new Promise<void>((resolve) => {
  go = resolve;
});
const written = new Map<number, () => void>();
port.on('message', (message: FromMain) => {
  if (message.type === 'go') go();
  else if (message.type === 'stop') {
    stop.abort();
    go();
  } else if (message.type === 'written') {
    written.get(message.id)?.();
    written.delete(message.id);
  }
});

/** JSON lines for the main thread, with each event's time and shard: the keys it merges the workers by. */
function linesToMain(shardOf: WeakMap<GeneratedEvent, number>): EventSink {
  let nextId = 0;
  return {
    write(events, values) {
      const id = nextId++;
      const ends = new Uint32Array(events.length);
      const times = new Float64Array(events.length);
      const shards = new Uint8Array(events.length);
      let text = '';
      for (let i = 0; i < events.length; i++) {
        const event = events[i] as GeneratedEvent;
        text += jsonLine(event, String(values[i]));
        ends[i] = text.length;
        times[i] = event.time;
        shards[i] = shardOf.get(event) ?? 0;
      }
      const stored = new Promise<void>((resolve) => written.set(id, resolve));
      post({ type: 'lines', id, text, ends, times, shards });
      return stored;
    },
  };
}

function describeError(error: unknown): Extract<FromWorker, { type: 'failed' }>['error'] {
  if (error instanceof LambdamartError) return { name: error.name, message: error.message, code: error.code, hint: error.hint };
  const e = error instanceof Error ? error : new Error(String(error));
  return { name: e.name, message: e.message, stack: e.stack };
}

let producers: EventProducer[] = [];
try {
  const shardOf = new WeakMap<GeneratedEvent, number>();
  const tagged = generateShardEvents(job.generator, job.shards);
  const events = (function* () {
    for (const { event, shard } of tagged) {
      if (job.sink.kind === 'jsonl') shardOf.set(event, shard);
      yield event;
    }
  })();
  let sink: EventSink;
  if (job.sink.kind === 'kafka') {
    const { config, producers: count, compression, topics, logLevel } = job.sink;
    producers = await connectGeneratorProducers(config, count, compression, createLogger('generator', logLevel));
    sink = kafkaSink(producers, { topicFor: (topic) => topics[topic] ?? topic });
  } else {
    sink = linesToMain(shardOf);
  }
  post({ type: 'ready' });
  await started;
  const summary: GeneratorSummary = await sendEvents(sink, events, {
    ...job.send,
    signal: stop.signal,
    onProgress: (progress) => post({ type: 'progress', summary: progress }),
  });
  post({ type: 'done', summary });
} catch (error) {
  post({ type: 'failed', error: describeError(error) });
} finally {
  await Promise.allSettled(producers.map((producer) => producer.disconnect()));
  port.close();
}
