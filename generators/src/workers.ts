/**
 * The generator on every core: worker threads (worker.ts) each run a fixed part of the virtual
 * shards (shards.ts), making, encoding and sending their events; this, the main thread, starts
 * them, passes on 'stop' (the signal), adds up their progress and summaries, and for a JSON-lines
 * file merges their lines by event time, so the file is the same for 1 or N workers.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type Config, type ErrorCode, LambdamartError, type ProducerCompression } from '@lambdamart/core';
import { type GeneratorOptions, shardShare } from './generate.ts';
import { addCounts, emptySummary, type GeneratorSummary, type SendOptions } from './send.ts';
import { Shards, shardsOfWorker } from './shards.ts';

/** What a worker is given (copied to it: plain data only). */
export interface WorkerJob {
  /** With `start` set: every worker must use the same one. */
  generator: GeneratorOptions;
  shards: number[];
  send: Pick<SendOptions, 'rate' | 'durationMs' | 'batchSize' | 'maxInFlight' | 'progressMs'>;
  sink:
    | { kind: 'jsonl' }
    | {
        kind: 'kafka';
        config: Config;
        /** Producers of this worker. */
        producers: number;
        compression: ProducerCompression;
        /** Topic to write for each real topic. */
        topics: Record<string, string>;
        logLevel: string;
      };
}

interface ErrorDescription {
  name: string;
  message: string;
  code?: string;
  hint?: string;
  stack?: string;
}

export type FromWorker =
  | { type: 'ready' }
  | { type: 'progress'; summary: GeneratorSummary }
  | { type: 'lines'; id: number; text: string; ends: Uint32Array; times: Float64Array; shards: Uint8Array }
  | { type: 'done'; summary: GeneratorSummary }
  | { type: 'failed'; error: ErrorDescription };

export type FromMain = { type: 'go' } | { type: 'stop' } | { type: 'written'; id: number };

/** Events per second one worker is given by default at a set --rate: a slow live run needs no more than one thread. */
const RatePerWorker = 25_000;

/** Default workers: one per core (at most one per shard); at a set rate, no more than the rate needs. */
export function defaultWorkers(rate: number | 'max'): number {
  const cores = Math.min(availableParallelism(), Shards);
  return rate === 'max' ? cores : Math.max(1, Math.min(cores, Math.ceil(rate / RatePerWorker)));
}

/** Checks a worker count: a whole number from 1 to the number of shards. */
export function checkWorkers(workers: number): number {
  if (!Number.isInteger(workers) || workers < 1 || workers > Shards)
    throw new LambdamartError(
      'LM_ERR_GENERATOR_OPTION_INVALID',
      `--workers must be a whole number from 1 to ${Shards} (the generator's shards), got ${workers}`,
    );
  return workers;
}

/** The error a worker reported, rebuilt in this thread (a LambdamartError keeps its code and hint). */
function revive(error: ErrorDescription): Error {
  if (error.name === 'LambdamartError' && error.code !== undefined)
    return new LambdamartError(error.code as ErrorCode, error.message, { hint: error.hint });
  const revived = new Error(error.message);
  revived.name = error.name;
  if (error.stack !== undefined) revived.stack = error.stack;
  return revived;
}

/** worker.ts is TypeScript: a worker thread does not inherit tsx's loader, so it registers it first. */
function startWorker(job: WorkerJob): Worker {
  const entry = new URL('./worker.ts', import.meta.url).href;
  const register = entry.endsWith('.ts') ? `await (await import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})).register();` : '';
  return new Worker(`(async () => { ${register} await import(${JSON.stringify(entry)}); })();`, {
    eval: true,
    workerData: job,
    name: `lambdamart-generator-${job.shards.join('-')}`,
  });
}

export function addSummaries(summaries: readonly GeneratorSummary[]): GeneratorSummary {
  const total = emptySummary();
  for (const s of summaries) addCounts(total, s);
  const stops = summaries.map((s) => s.stoppedBy);
  total.stoppedBy = stops.includes('signal') ? 'signal' : stops.includes('duration') ? 'duration' : 'end';
  return total;
}

interface LineBatch {
  id: number;
  text: string;
  ends: Uint32Array;
  times: Float64Array;
  shards: Uint8Array;
}

/**
 * Merges the workers' JSON lines by (time, shard), as generateEvents merges the shards, and writes
 * them; a worker's batch counts as stored (its 'written') once all its lines are written. A worker
 * with nothing queued has nothing unacknowledged, so it is never held up: the merge cannot stall.
 */
class LineMerger {
  private readonly queues: { batches: LineBatch[]; index: number; done: boolean }[];
  private running: Promise<void> | undefined;
  private again = false;
  failure: unknown;

  constructor(
    workers: number,
    private readonly write: (chunk: string) => Promise<void>,
    private readonly stored: (worker: number, id: number) => void,
  ) {
    this.queues = Array.from({ length: workers }, () => ({ batches: [], index: 0, done: false }));
  }

  add(worker: number, batch: LineBatch): void {
    this.queues[worker]?.batches.push(batch);
    this.kick();
  }

  finish(worker: number): void {
    const queue = this.queues[worker];
    if (queue) queue.done = true;
    this.kick();
  }

  /** Resolves once what has arrived so far is written (or cannot be, for want of another worker's lines). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => {
        this.running = undefined;
      });
  }

  private async drain(): Promise<void> {
    do {
      this.again = false;
      let chunk = '';
      const finished: [number, number][] = [];
      for (;;) {
        let best = -1;
        let bestTime = 0;
        let bestShard = 0;
        let blocked = false;
        for (let w = 0; w < this.queues.length; w++) {
          const queue = this.queues[w] as (typeof this.queues)[number];
          const batch = queue.batches[0];
          if (batch === undefined) {
            if (!queue.done) blocked = true;
            continue;
          }
          const time = batch.times[queue.index] as number;
          const shard = batch.shards[queue.index] as number;
          if (best < 0 || time < bestTime || (time === bestTime && shard < bestShard)) {
            best = w;
            bestTime = time;
            bestShard = shard;
          }
        }
        if (blocked || best < 0) break;
        const queue = this.queues[best] as (typeof this.queues)[number];
        const batch = queue.batches[0] as LineBatch;
        chunk += batch.text.slice(queue.index === 0 ? 0 : (batch.ends[queue.index - 1] as number), batch.ends[queue.index]);
        queue.index++;
        if (queue.index === batch.ends.length) {
          queue.batches.shift();
          queue.index = 0;
          finished.push([best, batch.id]);
        }
        if (chunk.length >= 1 << 20) {
          await this.write(chunk);
          chunk = '';
        }
      }
      if (chunk.length > 0) await this.write(chunk);
      for (const [worker, id] of finished) this.stored(worker, id);
    } while (this.again);
  }
}

export interface WorkersRun {
  generator: GeneratorOptions;
  workers: number;
  send: Omit<WorkerJob['send'], 'progressMs'> & { progressMs?: number };
  /** Kafka (each worker with producers of its own) or lines for `write`, in the order of generateEvents. */
  sink: Extract<WorkerJob['sink'], { kind: 'kafka' }> | { kind: 'jsonl'; write: (chunk: string) => Promise<void> };
  signal: AbortSignal;
  onProgress?: (progress: GeneratorSummary) => void;
}

/** Runs the generator in `workers` threads until the events end, the duration passes or the signal aborts. */
export async function runWorkers(run: WorkersRun): Promise<GeneratorSummary> {
  const count = checkWorkers(run.workers);
  const progressMs = run.send.progressMs ?? 250;
  const generator = { ...run.generator, start: run.generator.start ?? Date.now() };
  const jobs: WorkerJob[] = Array.from({ length: count }, (_, w) => {
    const shards = shardsOfWorker(w, count);
    const rate = run.send.rate === 'max' || count === 1 ? run.send.rate : run.send.rate * shardShare(generator, shards);
    const sink: WorkerJob['sink'] = run.sink.kind === 'kafka' ? run.sink : { kind: 'jsonl' };
    return { generator, shards, send: { ...run.send, rate, progressMs }, sink };
  });

  const workers = jobs.map(startWorker);
  const latest: GeneratorSummary[] = jobs.map(() => emptySummary());
  const done: (GeneratorSummary | undefined)[] = jobs.map(() => undefined);
  let failure: unknown;
  let started = performance.now();
  let lastProgress = 0;
  const broadcast = (message: FromMain) => {
    for (const worker of workers) worker.postMessage(message);
  };
  const merger =
    run.sink.kind === 'jsonl'
      ? new LineMerger(count, run.sink.write, (w, id) => workers[w]?.postMessage({ type: 'written', id } satisfies FromMain))
      : undefined;
  const fail = (error: unknown) => {
    failure ??= error;
    broadcast({ type: 'stop' });
  };
  const progress = (force = false) => {
    const now = performance.now();
    if (!run.onProgress || (!force && now - lastProgress < progressMs)) return;
    lastProgress = now;
    const total = addSummaries(latest);
    total.elapsedMs = now - started;
    total.eventsPerSecond = total.sent / Math.max(0.001, total.elapsedMs / 1000);
    run.onProgress(total);
  };

  let readyCount = 0;
  let allReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    allReady = resolve;
  });
  const exited = workers.map(
    (worker, w) =>
      new Promise<void>((resolve) => {
        worker.on('message', (message: FromWorker) => {
          switch (message.type) {
            case 'ready':
              if (++readyCount === count) allReady();
              break;
            case 'progress':
              latest[w] = message.summary;
              progress();
              break;
            case 'lines':
              merger?.add(w, message);
              break;
            case 'done':
              done[w] = message.summary;
              latest[w] = message.summary;
              merger?.finish(w);
              break;
            case 'failed':
              fail(revive(message.error));
              merger?.finish(w);
              break;
          }
        });
        worker.on('error', (error) => {
          fail(error);
          merger?.finish(w);
        });
        worker.on('exit', (code) => {
          if (done[w] === undefined)
            fail(failure ?? new Error(`generator worker ${w + 1} of ${count} exited (code ${code}) before it finished`));
          merger?.finish(w);
          allReady();
          resolve();
        });
      }),
  );
  const stop = () => broadcast({ type: 'stop' });
  if (run.signal.aborted) stop();
  run.signal.addEventListener('abort', stop, { once: true });
  try {
    await ready;
    started = performance.now();
    broadcast({ type: 'go' });
    await Promise.all(exited);
    await merger?.idle();
  } finally {
    run.signal.removeEventListener('abort', stop);
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
  failure ??= merger?.failure;
  if (failure !== undefined) throw failure;
  const summary = addSummaries(done as GeneratorSummary[]);
  summary.elapsedMs = performance.now() - started;
  summary.eventsPerSecond = summary.sent / Math.max(0.001, summary.elapsedMs / 1000);
  latest.splice(0, latest.length, ...(done as GeneratorSummary[]));
  progress(true);
  return summary;
}
