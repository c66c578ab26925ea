/**
 * When to try again and how long to wait. A saver never gives up on a batch: an unreachable or
 * restarting Postgres or Kafka is waited for; only a row that Postgres refuses as data is set apart.
 */
import { LambdamartError } from '@lambdamart/core';

/** Exponential backoff with a cap and +-20% jitter, so restarted savers do not retry in lockstep. */
export function backoffMs(attempt: number, options: { initialMs?: number; maxMs?: number; random?: () => number } = {}): number {
  const { initialMs = 250, maxMs = 10_000, random = Math.random } = options;
  const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt));
  return Math.round(base * (0.8 + 0.4 * random()));
}

const POSTGRES_FAILURE_CODES = [
  'LM_ERR_POSTGRES_UNREACHABLE',
  'LM_ERR_SPEED_NOT_MIGRATED',
  'LM_ERR_SPEED_WRITE_CONFLICT',
  'LM_ERR_SPEED_ROW_REFUSED',
  'LM_ERR_SPEED_POSTGRES_REFUSED',
] as const;

/** The codes a failure of the realtime database is classified into (see postgresFailure). */
export type PostgresFailureCode = (typeof POSTGRES_FAILURE_CODES)[number];

function postgresFailureCode(error: unknown): PostgresFailureCode {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== 'string') {
    const message = error instanceof Error ? error.message : String(error);
    if (/Connection terminated|timeout|ECONN|socket|connect/i.test(message)) return 'LM_ERR_POSTGRES_UNREACHABLE';
    return 'LM_ERR_SPEED_POSTGRES_REFUSED';
  }
  if (/^E[A-Z]+$/.test(code)) return 'LM_ERR_POSTGRES_UNREACHABLE'; // ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE...
  if (code === '42P01') return 'LM_ERR_SPEED_NOT_MIGRATED';
  if (code === '40001' || code === '40P01') return 'LM_ERR_SPEED_WRITE_CONFLICT';
  // No such database yet, credentials not set up yet, connections not allowed right now.
  if (code === '3D000' || code === '28P01' || code === '28000' || code === '55000') return 'LM_ERR_POSTGRES_UNREACHABLE';
  const cls = code.slice(0, 2);
  if (cls === '08' || cls === '57' || cls === '53' || cls === '58') return 'LM_ERR_POSTGRES_UNREACHABLE';
  if (cls === '22' || cls === '23') return 'LM_ERR_SPEED_ROW_REFUSED';
  return 'LM_ERR_SPEED_POSTGRES_REFUSED';
}

/**
 * Classifies an error of the pg driver by SQLSTATE or socket error code into a LambdamartError;
 * its `retriable` is all a retry policy reads to decide whether to try again:
 * - LM_ERR_POSTGRES_UNREACHABLE: the server is down, restarting, refusing connections, or the database is missing;
 * - LM_ERR_SPEED_NOT_MIGRATED: the tables are not there yet (`lambdamart migrate` has not run);
 * - LM_ERR_SPEED_WRITE_CONFLICT: a deadlock or serialization failure, retried at once;
 * - LM_ERR_SPEED_POSTGRES_REFUSED: anything else not about the data (a permission, a limit);
 * - LM_ERR_SPEED_ROW_REFUSED, not retriable: a value Postgres refuses (class 22, 23): the same rows cannot succeed.
 * The message is the driver's, with its SQLSTATE (describeError); the original is the cause.
 */
export function postgresFailure(error: unknown): LambdamartError & { code: PostgresFailureCode } {
  if (error instanceof LambdamartError && isPostgresFailureCode(error.code))
    return error as LambdamartError & { code: PostgresFailureCode };
  const code = postgresFailureCode(error);
  return new LambdamartError(code, describeError(error), { cause: error }) as LambdamartError & { code: PostgresFailureCode };
}

function isPostgresFailureCode(code: string): code is PostgresFailureCode {
  return (POSTGRES_FAILURE_CODES as readonly string[]).includes(code);
}

/** A batch Postgres refused as data (see postgresFailure): set apart, never retried as it is. */
export function isRefusedAsData(error: unknown): error is LambdamartError {
  return error instanceof LambdamartError && error.code === 'LM_ERR_SPEED_ROW_REFUSED';
}

/** The `cause` label of lambdamart_speed_retries_total for a retriable failure (the names the dashboards know). */
export function retryCause(code: PostgresFailureCode): string {
  switch (code) {
    case 'LM_ERR_POSTGRES_UNREACHABLE':
      return 'unavailable';
    case 'LM_ERR_SPEED_NOT_MIGRATED':
      return 'not-migrated';
    case 'LM_ERR_SPEED_WRITE_CONFLICT':
      return 'conflict';
    default:
      return 'other';
  }
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
