import pg from 'pg';
import { LambdamartError } from './errors.ts';

// Postgres `numeric` and `bigint` come back as strings by default; counts fit in a JS number.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10));

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export function createPool(
  connectionString: string,
  options: { max?: number; application?: string; onIdleError?: (error: Error) => void } = {},
): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: options.application ?? 'lambdamart',
    connectionTimeoutMillis: 10_000,
  });
  // An idle client losing its server (a restart, a terminated backend) must not crash the
  // process: the pool drops that client and the next query opens a new one.
  pool.on('error', options.onIdleError ?? (() => undefined));
  return pool;
}

/** Where a URL points, without its password: for messages and status lines. */
export function describePostgresUrl(connectionString: string): string {
  const url = new URL(connectionString);
  return `${url.hostname}:${url.port || '5432'}${url.pathname}`;
}

/** Turns a connection failure into one line that says where and how to fix it. */
export function postgresUnreachable(connectionString: string, cause: unknown): LambdamartError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new LambdamartError(
    'LM_ERR_POSTGRES_UNREACHABLE',
    `PostgreSQL at ${describePostgresUrl(connectionString)} refused the connection: ${reason}`,
    { hint: 'start it with `lambdamart stack up`, or check REALTIME_DATABASE_URL / WAREHOUSE_DATABASE_URL', cause },
  );
}
