/**
 * The two databases the API reads, each behind a name, so that a failure says which one is down
 * (503 naming it) and never leaks the driver's message or the SQL text.
 */
import { createPool, type Pool, type PoolClient } from '@lambdamart/core';
import type { QueryResultRow } from 'pg';
import { Admission, overloaded } from './admission.ts';
import { ApiError, isDatabaseUnavailable } from './errors.ts';

/** Connections per database, and how many reads may wait for one, how long (see admission.ts). */
export const DatabaseLimits = { connections: 8, queue: 200, waitMs: 5_000 } as const;

export type DatabaseName = 'warehouse' | 'realtime';

export class Database {
  readonly admission: Admission;

  constructor(
    readonly name: DatabaseName,
    readonly pool: Pool,
    limits: { connections: number; queue: number; waitMs: number } = DatabaseLimits,
  ) {
    this.admission = new Admission(name, { slots: limits.connections, queue: limits.queue, waitMs: limits.waitMs });
  }

  /** Every connection of the pool open and in use (pg-pool drops a timed-out waiter before it rejects it). */
  private poolFull(): boolean {
    const max = (this.pool as { options?: { max?: number } }).options?.max ?? Number.POSITIVE_INFINITY;
    return this.pool.totalCount >= max && this.pool.idleCount === 0;
  }

  /** A failure to get or use a connection: overload when every connection was busy, else the database is down. */
  unavailable(cause: unknown): ApiError {
    const message = (cause as { message?: unknown })?.message;
    if (typeof message === 'string' && /timeout exceeded when trying to connect/i.test(message) && this.poolFull()) {
      const error = overloaded(this.name);
      error.cause = cause;
      return error;
    }
    const error = new ApiError(
      503,
      'LM_ERR_API_DATABASE_UNAVAILABLE',
      `the ${this.name} database is unavailable; try again later`,
      undefined,
      {
        'retry-after': '5',
      },
    );
    // Kept for the log only (see errors.ts); the client sees the database's name, not the driver's words.
    error.cause = cause;
    return error;
  }

  /** One parameterised statement; a connection failure becomes a 503 naming this database. */
  async query<R extends QueryResultRow>(sql: string, values: unknown[] = []): Promise<R[]> {
    return this.admission.run(async () => {
      try {
        return (await this.pool.query<R>(sql, values)).rows;
      } catch (error) {
        if (isDatabaseUnavailable(error)) throw this.unavailable(error);
        throw error;
      }
    });
  }

  /**
   * A read-only repeatable-read transaction: every statement in `use` sees one snapshot, taken
   * at its first statement.
   */
  async snapshot<T>(use: (client: PoolClient) => Promise<T>): Promise<T> {
    return this.admission.run(() => this.snapshotAdmitted(use));
  }

  private async snapshotAdmitted<T>(use: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw this.unavailable(error);
    }
    let failed = false;
    try {
      // No JIT: the API's reads run in milliseconds, and the planner's estimate of the speed side's
      // per-order lookups (bench:api: 173,000) passes jit_above_cost, so it compiled for 10-25 ms.
      await client.query('begin isolation level repeatable read read only; set local jit = off');
      const result = await use(client);
      await client.query('commit');
      return result;
    } catch (error) {
      failed = true;
      await client.query('rollback').catch(() => undefined);
      if (isDatabaseUnavailable(error)) throw this.unavailable(error);
      throw error;
    } finally {
      client.release(failed ? true : undefined);
    }
  }
}

export interface Databases {
  warehouse: Database;
  realtime: Database;
}

// One connection more than reads are admitted: the batch-run listener keeps one, /ready probes another.
export function openDatabases(urls: { warehouse: string; realtime: string }): Databases {
  return {
    warehouse: new Database(
      'warehouse',
      createPool(urls.warehouse, { max: DatabaseLimits.connections + 1, application: 'lambdamart-api' }),
    ),
    realtime: new Database('realtime', createPool(urls.realtime, { max: DatabaseLimits.connections + 1, application: 'lambdamart-api' })),
  };
}

export async function closeDatabases(dbs: Databases): Promise<void> {
  await Promise.all([dbs.warehouse.pool.end(), dbs.realtime.pool.end()]);
}
