/** A wait for a pool connection that times out is overload (503 LM_ERR_API_OVERLOADED), not a database that is down. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { Database } from './db.ts';
import { ApiError } from './errors.ts';
import { withApiDatabases } from './testing/fixtures.ts';

describe('overload', () => {
  it('answers a pool-wait timeout with LM_ERR_API_OVERLOADED and Retry-After', async () => {
    await withApiDatabases('api_overload', {}, async ({ whUrl }) => {
      const pool = new pg.Pool({ connectionString: whUrl, max: 1, connectionTimeoutMillis: 200 });
      // More reads admitted than the pool has connections: the second waits for the pool itself.
      const db = new Database('warehouse', pool, { connections: 2, queue: 0, waitMs: 1_000 });
      const busy = await pool.connect();
      try {
        await assert.rejects(db.query('select 1'), (error: unknown) => {
          assert.ok(error instanceof ApiError);
          assert.equal(error.statusCode, 503);
          assert.equal(error.code, 'LM_ERR_API_OVERLOADED');
          assert.equal(error.headers?.['retry-after'], '1');
          return true;
        });
      } finally {
        busy.release();
        await pool.end();
      }
    });
  });
});
