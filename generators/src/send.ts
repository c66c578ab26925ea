/**
 * Sends generated events to Kafka: batches across the three topics (one produce request per
 * batch), a few batches in flight, a steady rate or as fast as the broker takes them. Counts grow
 * only when the broker has acknowledged a batch, so the summary never claims an unsent event.
 */
import { toCents } from '@lambdamart/core';
import { type InvalidEventKind, isInvalidKind, type UnusualEventKind } from './bad-event-kinds.ts';
import { serializeEvent } from './generate.ts';
import type { GeneratedEvent, GeneratedKind } from './generated-event.ts';
import type { EventSink } from './sinks.ts';
import { ValueBytes } from './value-bytes.ts';

export interface SendOptions {
  /** Events per second, or 'max' for as fast as the broker acknowledges. */
  rate: number | 'max';
  /** Stop after this long (ms); undefined: until the events end or the signal aborts. */
  durationMs?: number;
  signal?: AbortSignal;
  /** Messages per produce request (default 5,000; smaller at low rates so that events go out promptly). */
  batchSize?: number;
  /** Produce requests awaiting acknowledgement at once (default 4). */
  maxInFlight?: number;
  /** Called at most every `progressMs` (default 250) with the counts so far. */
  onProgress?: (progress: GeneratorSummary) => void;
  progressMs?: number;
}

export interface GeneratorSummary {
  /** Events the broker acknowledged, catalog records included, bad events included. */
  sent: number;
  byKind: Record<GeneratedKind, number>;
  /** Deliberately invalid events among `sent`, by kind: what the speed layer dead-letters. */
  invalid: Record<InvalidEventKind, number>;
  invalidTotal: number;
  /** Deliberately unusual but valid events among `sent` (unknown products, redeliveries): saved, not dead-lettered. */
  unusual: Record<UnusualEventKind, number>;
  unusualTotal: number;
  /** Revenue of the valid transactions acknowledged, duplicates apart, in cents: what the warehouse must sum to. */
  revenueCents: number;
  /** Payload bytes acknowledged (values only). */
  bytes: number;
  elapsedMs: number;
  /** Acknowledged events per second. */
  eventsPerSecond: number;
  stoppedBy: 'end' | 'duration' | 'signal';
}

export function emptySummary(): GeneratorSummary {
  return {
    sent: 0,
    byKind: { catalog: 0, view: 0, cart: 0, transaction: 0 },
    invalid: { malformed_json: 0, missing_field: 0, negative_quantity: 0, wrong_total: 0 },
    invalidTotal: 0,
    unusual: { unknown_product: 0, duplicate_id: 0 },
    unusualTotal: 0,
    revenueCents: 0,
    bytes: 0,
    elapsedMs: 0,
    eventsPerSecond: 0,
    stoppedBy: 'end',
  };
}

/** Adds the counts of `counts` (sent, kinds, bad events, revenue, bytes) to `total`. */
export function addCounts(total: GeneratorSummary, counts: GeneratorSummary): void {
  total.sent += counts.sent;
  for (const kind of Object.keys(total.byKind) as GeneratedKind[]) total.byKind[kind] += counts.byKind[kind];
  for (const kind of Object.keys(total.invalid) as InvalidEventKind[]) total.invalid[kind] += counts.invalid[kind];
  for (const kind of Object.keys(total.unusual) as UnusualEventKind[]) total.unusual[kind] += counts.unusual[kind];
  total.invalidTotal += counts.invalidTotal;
  total.unusualTotal += counts.unusualTotal;
  total.revenueCents += counts.revenueCents;
  total.bytes += counts.bytes;
}

interface PendingBatch {
  events: GeneratedEvent[];
  /** The payloads as strings; for a sink that takes bytes, filled from `encoded` when the batch leaves. */
  values: (string | Buffer)[];
  bytes: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** Sends `events` until they end, the duration passes or the signal aborts; waits for what is in flight. */
export async function sendEvents(sink: EventSink, events: Iterable<GeneratedEvent>, options: SendOptions): Promise<GeneratorSummary> {
  const { rate, durationMs, signal, maxInFlight = 4, onProgress, progressMs = 250 } = options;
  // At a set rate a batch holds about 50 ms of events, so they leave steadily rather than in bursts.
  const batchSize = Math.max(1, Math.min(options.batchSize ?? 5000, rate === 'max' ? Number.POSITIVE_INFINITY : Math.ceil(rate / 20)));
  const summary = emptySummary();
  const started = performance.now();
  const deadline = durationMs === undefined ? Number.POSITIVE_INFINITY : started + durationMs;
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let produced = 0;
  let lastProgress = started;

  // What a batch adds to the summary once acknowledged, taken when it leaves: the events
  // themselves need not wait in memory for the broker.
  const tally = (batch: PendingBatch): GeneratorSummary => {
    const counts = emptySummary();
    for (const event of batch.events) {
      counts.byKind[event.kind]++;
      if (event.kind === 'transaction' && (event.bad === undefined || event.bad === 'unknown_product')) {
        counts.revenueCents += toCents(event.event.total_amount);
      }
      if (event.bad === undefined) continue;
      if (isInvalidKind(event.bad)) {
        counts.invalid[event.bad]++;
        counts.invalidTotal++;
      } else {
        counts.unusual[event.bad]++;
        counts.unusualTotal++;
      }
    }
    counts.sent = batch.events.length;
    counts.bytes = batch.bytes;
    return counts;
  };
  const report = (force = false) => {
    const now = performance.now();
    if (!onProgress || (!force && now - lastProgress < progressMs)) return;
    lastProgress = now;
    summary.elapsedMs = now - started;
    summary.eventsPerSecond = summary.sent / Math.max(0.001, summary.elapsedMs / 1000);
    onProgress(summary);
  };
  const dispatch = (batch: PendingBatch) => {
    const counts = tally(batch);
    const sending = sink.write(batch.events, batch.values).then(
      () => {
        addCounts(summary, counts);
        report();
      },
      (error: unknown) => {
        failure ??= error;
      },
    );
    const tracked = sending.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };

  // A sink that takes bytes gets each value encoded as it is made: see value-bytes.ts.
  const encoded = sink.bytes ? new ValueBytes() : undefined;
  let batch: PendingBatch = { events: [], values: [], bytes: 0 };
  const leave = (full: PendingBatch) => {
    if (encoded) full.values = encoded.take();
    dispatch(full);
  };
  const iterator = events[Symbol.iterator]();
  try {
    for (;;) {
      if (signal?.aborted) {
        summary.stoppedBy = 'signal';
        break;
      }
      if (failure !== undefined) break;
      if (performance.now() >= deadline) {
        summary.stoppedBy = 'duration';
        break;
      }
      const next = iterator.next();
      if (next.done) break;
      const event = next.value;
      const value = serializeEvent(event);
      batch.events.push(event);
      if (encoded) batch.bytes += encoded.add(value);
      else {
        batch.values.push(value);
        batch.bytes += value.length;
      }
      produced++;
      if (batch.events.length < batchSize) continue;

      leave(batch);
      batch = { events: [], values: [], bytes: 0 };
      while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
      if (rate !== 'max') {
        const due = started + (produced / rate) * 1000;
        const wait = Math.min(due, deadline) - performance.now();
        if (wait > 0) await sleep(wait, signal);
      } else if (inFlight.size > 0 && produced % (batchSize * 8) === 0) {
        // Let acknowledgements and signals in now and then even when the broker keeps up.
        await new Promise((resolve) => setImmediate(resolve));
      }
      report();
    }
    if (batch.events.length > 0 && failure === undefined) leave(batch);
  } finally {
    iterator.return?.();
    await Promise.allSettled([...inFlight]);
  }
  summary.elapsedMs = performance.now() - started;
  summary.eventsPerSecond = summary.sent / Math.max(0.001, summary.elapsedMs / 1000);
  report(true);
  if (failure !== undefined) throw failure;
  return summary;
}
