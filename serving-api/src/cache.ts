/**
 * The read cache: answers kept in process (an LRU), dropped when a batch run commits.
 *
 * The batch runner sends `NOTIFY lambdamart_batch_runs` inside each job's transaction, so the
 * notice arrives exactly when the run's data becomes visible. Every API process LISTENs on its
 * own connection to the warehouse, so several processes stay coherent without another server.
 * A lost listening connection may have missed notices: the cache is cleared on reconnect too.
 *
 * A generation number guards the race between a read and a notice: an answer computed while a
 * notice arrived is returned but not stored, so a stale answer never outlives the run.
 *
 * Misses of one key are computed once (single flight): when a short-lived merged answer expires,
 * the requests that arrive while it is recomputed wait for that one query instead of each running
 * their own, which under load exhausted the pool (bench:api at 5M events saw 503s).
 */
import { type BatchRunNotice, BatchRunsChannel, type Logger, type Pool, type PoolClient } from '@lambdamart/core';
import { LRUCache } from 'lru-cache';
import type { Counter } from 'prom-client';

export interface CacheOptions {
  enabled: boolean;
  /** Entries kept at most. */
  max?: number;
  /** Their estimated size at most (bytes). */
  maxBytes?: number;
}

/**
 * An entry's estimated size: its value as JSON, twice (the objects, and the JSON string a hit
 * sends, recorded after the first answer), as UTF-16.
 */
function entrySize(entry: CacheEntry): number {
  return Math.max(1, 4 * (JSON.stringify(entry.value)?.length ?? 0));
}

/** TTLs: warehouse-only answers live until the next run (capped); answers with the speed view, seconds. */
export const CacheTtl = {
  batchMs: 10 * 60_000,
  speedMs: 3_000,
} as const;

/**
 * A cached answer. `json` and `etag` are the JSON the first answer sent (validated by the route's
 * response schema then): a hit sends that string again instead of serializing and hashing anew.
 */
export interface CacheEntry<T = unknown> {
  value: T;
  /** For a versioned entry: what it is good for (see `versioned`). */
  version?: string;
  json?: string;
  etag?: string;
}

export class ResponseCache {
  private readonly lru: LRUCache<string, CacheEntry>;
  private generation = 0;
  private readonly inFlight = new Map<string, { generation: number; entry: Promise<CacheEntry> }>();
  /** How many times it was cleared (tests, logs). */
  invalidations = 0;

  constructor(
    private readonly options: CacheOptions,
    private readonly counter?: Counter<'result'>,
  ) {
    // Bounded by bytes too: a few big answers (a year of hourly series) must not outgrow the process.
    this.lru = new LRUCache({
      max: options.max ?? 2000,
      maxSize: options.maxBytes ?? 48 * 1024 * 1024,
      sizeCalculation: entrySize,
      ttl: CacheTtl.batchMs,
    });
  }

  get enabled(): boolean {
    return this.options.enabled;
  }

  /** The cached answer for `key`, or `compute()`'s, stored for `ttlMs`. */
  async through<T>(key: string, ttlMs: number, compute: () => Promise<T>): Promise<{ entry: CacheEntry<T>; hit: boolean }> {
    if (!this.options.enabled) return { entry: { value: await compute() }, hit: false };
    const cached = this.lru.get(key);
    if (cached) {
      this.counter?.inc({ result: 'hit' });
      return { entry: cached as CacheEntry<T>, hit: true };
    }
    const generation = this.generation;
    const running = this.inFlight.get(key);
    if (running && running.generation === generation) {
      this.counter?.inc({ result: 'shared' });
      return { entry: (await running.entry) as CacheEntry<T>, hit: false };
    }
    this.counter?.inc({ result: 'miss' });
    const entry = compute().then((value): CacheEntry<T> => ({ value }));
    this.inFlight.set(key, { generation, entry });
    try {
      const computed = await entry;
      if (generation === this.generation) this.lru.set(key, computed, { ttl: ttlMs });
      return { entry: computed, hit: false };
    } finally {
      if (this.inFlight.get(key)?.entry === entry) this.inFlight.delete(key);
    }
  }

  /**
   * A store for one key whose values are good for one `version` only (merge.ts: the facts a
   * batch side was read from), until the next clear. Null with the cache off.
   */
  versioned<T>(key: string): { get(version: string): T | undefined; set(version: string, value: T): void } | undefined {
    if (!this.options.enabled) return undefined;
    const generation = this.generation;
    return {
      get: (version) => {
        const kept = this.lru.get(key);
        const hit = kept !== undefined && kept.version === version;
        this.counter?.inc({ result: hit ? 'batch_side_hit' : 'batch_side_miss' });
        return hit ? (kept.value as T) : undefined;
      },
      set: (version, value) => {
        // A run committed since this read began: its value may be old, keep nothing.
        if (generation === this.generation) this.lru.set(key, { value, version }, { ttl: CacheTtl.batchMs });
      },
    };
  }

  clear(): void {
    this.generation++;
    this.invalidations++;
    this.lru.clear();
  }

  get size(): number {
    return this.lru.size;
  }
}

export interface BatchRunListener {
  /** Resolves once LISTEN is in place (or the first attempt failed: it keeps retrying). */
  ready: Promise<void>;
  close(): Promise<void>;
}

/** LISTENs on the warehouse for committed batch runs and calls `onRun` for each. */
export function listenForBatchRuns(
  pool: Pool,
  logger: Logger,
  onRun: (notice: BatchRunNotice | null) => void,
  options: { retryMs?: number } = {},
): BatchRunListener {
  let client: PoolClient | null = null;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const retryMs = options.retryMs ?? 2000;

  const connect = async (): Promise<void> => {
    if (closed) return;
    try {
      const c = await pool.connect();
      c.on('notification', (message) => {
        if (message.channel !== BatchRunsChannel) return;
        let notice: BatchRunNotice | null = null;
        try {
          notice = JSON.parse(message.payload ?? 'null') as BatchRunNotice;
        } catch {
          notice = null;
        }
        onRun(notice);
      });
      c.on('error', (error) => {
        logger.warn({ err: error.message }, 'batch-run listener lost its connection; reconnecting');
        c.release(true);
        if (client === c) client = null;
        schedule();
      });
      await c.query(`listen ${BatchRunsChannel}`);
      client = c;
      // Whatever ran while we were not listening: forget it all.
      onRun(null);
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'batch-run listener cannot connect to the warehouse; retrying');
      schedule();
    }
  };
  const schedule = () => {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, retryMs);
    timer.unref();
  };

  const ready = connect();
  return {
    ready,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      const c = client;
      client = null;
      if (c) {
        await c.query(`unlisten ${BatchRunsChannel}`).catch(() => undefined);
        c.release();
      }
    },
  };
}
