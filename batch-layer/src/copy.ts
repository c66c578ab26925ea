/**
 * Moving rows between the two databases with COPY streams (pg-copy-streams), never with a
 * cross-database query: the realtime and warehouse databases may live on different servers.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from '@lambdamart/core';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';

/** Streams the rows of `query` (run on `source`) into `table` (on `target`); returns the row count. */
export async function copyQueryToTable(source: PoolClient, query: string, target: PoolClient, table: string): Promise<number> {
  const out = source.query(copyTo(`copy (${query}) to stdout with (format binary)`));
  const into = target.query(copyFrom(`copy ${table} from stdin with (format binary)`));
  await pipeline(out, into);
  return into.rowCount;
}

/** Writes the rows of `query` to a CSV file (no header, NULL as empty). */
export async function copyQueryToFile(client: PoolClient, query: string, file: string): Promise<number> {
  const out = client.query(copyTo(`copy (${query}) to stdout with (format csv)`));
  await pipeline(out, createWriteStream(file));
  return out.rowCount;
}

/** Loads a CSV file (no header, NULL as empty) into `table (columns)`; returns the row count. */
export async function copyFileToTable(client: PoolClient, file: string, table: string, columns: readonly string[]): Promise<number> {
  const into = client.query(copyFrom(`copy ${table} (${columns.join(', ')}) from stdin with (format csv)`));
  await pipeline(createReadStream(file), into);
  return into.rowCount;
}
