import { randomBytes } from 'node:crypto';
import { createPool, loadConfig, type Pool } from '@lambdamart/core';

/** The URL of a database on the same server as `baseUrl`, under another name. */
export function databaseUrl(baseUrl: string, database: string): string {
  const url = new URL(baseUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * Creates an empty database named lambdamart_test_<label>_<random> on the server of the
 * realtime database, hands its URL to `use`, and drops it afterwards, even when `use` throws.
 */
export async function withTempDatabase<T>(label: string, use: (url: string) => Promise<T>): Promise<T> {
  const base = loadConfig().realtimeDatabaseUrl;
  const name = `lambdamart_test_${label}_${randomBytes(4).toString('hex')}`;
  const admin = createPool(databaseUrl(base, 'postgres'), { max: 1, application: 'lambdamart-test' });
  await admin.query(`create database ${name}`);
  try {
    return await use(databaseUrl(base, name));
  } finally {
    // A pg client released with an error closes asynchronously, after pool.end() has returned:
    // wait for the database's sessions to go, so that dropping it terminates none of ours.
    for (let i = 0; i < 50; i++) {
      const { rows } = await admin.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where datname = $1', [name]);
      if (rows[0]?.n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

/** Runs `use` with a pool on `url`, closing it afterwards. */
export async function withPool<T>(url: string, use: (pool: Pool) => Promise<T>): Promise<T> {
  const pool = createPool(url, { max: 4, application: 'lambdamart-test' });
  try {
    return await use(pool);
  } finally {
    await pool.end();
  }
}
