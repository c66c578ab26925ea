/**
 * The two databases the API reads, each behind a name, so that a failure says which one is down
 * (503 naming it) and never leaks the driver's message or the SQL text.
 */
import { createPool, type Pool, type PoolClient } from '@lambdamart/core';
import type { QueryResultRow } from 'pg';
import { ApiError, isDatabaseUnavailable } from './errors.ts';

export type DatabaseName = 'warehouse' | 'realtime';

export class Database {
  constructor(
    readonly name: DatabaseName,
    readonly pool: Pool,
  ) {}

  unavailable(cause: unknown): ApiError {
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
    try {
      return (await this.pool.query<R>(sql, values)).rows;
    } catch (error) {
      if (isDatabaseUnavailable(error)) throw this.unavailable(error);
      throw error;
    }
  }

  /**
   * A read-only repeatable-read transaction: every statement in `use` sees one snapshot, taken
   * at its first statement.
   */
  async snapshot<T>(use: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw this.unavailable(error);
    }
    let failed = false;
    try {
      await client.query('begin isolation level repeatable read read only');
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

export function openDatabases(urls: { warehouse: string; realtime: string }): Databases {
  return {
    warehouse: new Database('warehouse', createPool(urls.warehouse, { max: 8, application: 'lambdamart-api' })),
    realtime: new Database('realtime', createPool(urls.realtime, { max: 8, application: 'lambdamart-api' })),
  };
}

export async function closeDatabases(dbs: Databases): Promise<void> {
  await Promise.all([dbs.warehouse.pool.end(), dbs.realtime.pool.end()]);
}
