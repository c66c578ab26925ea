/**
 * When to try again and how long to wait. A saver never gives up on a batch: an unreachable or
 * restarting Postgres or Kafka is waited for; only a row that Postgres refuses as data is set apart.
 */

/** Exponential backoff with a cap and +-20% jitter, so restarted savers do not retry in lockstep. */
export function backoffMs(attempt: number, options: { initialMs?: number; maxMs?: number; random?: () => number } = {}): number {
  const { initialMs = 250, maxMs = 10_000, random = Math.random } = options;
  const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt));
  return Math.round(base * (0.8 + 0.4 * random()));
}

export type FailureKind = 'unavailable' | 'not-migrated' | 'conflict' | 'data' | 'other';

/**
 * Classifies an error of the pg driver by SQLSTATE or socket error code:
 * - unavailable: the server is down, restarting, refusing connections, or the database is missing;
 * - not-migrated: the tables are not there yet (`lambdamart migrate` has not run);
 * - conflict: a deadlock or serialization failure, retried at once;
 * - data: a value Postgres refuses (class 22, 23): retrying the same rows cannot help.
 */
export function classifyPostgresError(error: unknown): FailureKind {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== 'string') {
    const message = error instanceof Error ? error.message : String(error);
    if (/Connection terminated|timeout|ECONN|socket|connect/i.test(message)) return 'unavailable';
    return 'other';
  }
  if (/^E[A-Z]+$/.test(code)) return 'unavailable'; // ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE...
  if (code === '42P01') return 'not-migrated';
  if (code === '40001' || code === '40P01') return 'conflict';
  // No such database yet, credentials not set up yet, connections not allowed right now.
  if (code === '3D000' || code === '28P01' || code === '28000' || code === '55000') return 'unavailable';
  const cls = code.slice(0, 2);
  if (cls === '08' || cls === '57' || cls === '53' || cls === '58') return 'unavailable';
  if (cls === '22' || cls === '23') return 'data';
  return 'other';
}

export function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describeError(error.errors[0]);
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return code ? `${error.message || String(code)} (${String(code)})` : error.message;
  }
  return String(error);
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
