/**
 * The realtime database side of a saver. One batch of one partition is saved in ONE transaction:
 * COPY into per-session staging tables, INSERT ... SELECT ... ON CONFLICT DO NOTHING into the
 * targets, the per-minute speed view for the rows actually inserted, the dead letters, and the
 * partition's next offset. Either all of it commits or none of it does.
 */
import type { Pool, PoolClient } from '@lambdamart/core';
import { from as copyFrom } from 'pg-copy-streams';
import { postgresFailure } from './retry.ts';
import type { StagingCopy } from './rows.ts';
import type { SaverSql, SaverStatement } from './saver-sql.ts';

export type StagedKind = 'transaction' | 'view' | 'cart' | 'catalog';

/**
 * Each kind's move statement (warehouse/sql/realtime/speed/move_*.sql) moves the staged rows into
 * the targets and aggregates only the rows it really inserted into stage_metrics;
 * add_speed_minute_metrics adds those to the speed view as the last statement before the commit.
 */
const MOVE: Record<StagedKind, SaverStatement> = {
  transaction: 'move_transactions',
  view: 'move_product_views',
  cart: 'move_cart_events',
  catalog: 'move_catalog',
};

export interface DeadLetterRow {
  offset: string;
  key: string | null;
  reason: string;
  payload: string | null;
}

export interface PartitionBatch {
  group: string;
  topic: string;
  partition: number;
  kind: StagedKind;
  /** The next offset this saver believes Postgres holds for the partition (null: no row yet). */
  expectedOffset: string | null;
  /** The next offset once this batch is saved. */
  nextOffset: string;
  staged: StagingCopy;
  deadLetters: readonly DeadLetterRow[];
}

export type SaveResult =
  | { status: 'saved'; inserted: number; duplicates: number }
  /** Someone else moved the partition since we read it: nothing was written; re-read and seek. */
  | { status: 'moved'; storedOffset: string | null };

export async function readStoredOffset(
  db: Pool | PoolClient,
  sql: SaverSql,
  group: string,
  topic: string,
  partition: number,
): Promise<string | null> {
  const { rows } = await db.query<{ next_offset: number }>(sql.read_stored_offset, [group, topic, partition]);
  return rows[0] ? String(rows[0].next_offset) : null;
}

/**
 * Moves a stored offset that lies past the end of its partition's log back to `to` (where the new
 * log is read from), only if it still holds `from`: another member may have saved since.
 */
export async function restartStoredOffset(
  db: Pool | PoolClient,
  sql: SaverSql,
  position: { group: string; topic: string; partition: number },
  from: string,
  to: string,
): Promise<void> {
  await db.query(sql.restart_stored_offset, [position.group, position.topic, position.partition, from, to]);
}

/** Every stored offset of a group, keyed `topic|partition`. */
export async function readStoredOffsets(pool: Pool, sql: SaverSql, group: string): Promise<Map<string, string>> {
  const { rows } = await pool.query<{ topic: string; partition: number; next_offset: number }>(sql.read_group_offsets, [group]);
  return new Map(rows.map((r) => [`${r.topic}|${r.partition}`, String(r.next_offset)]));
}

export async function saveBatch(client: PoolClient, sql: SaverSql, batch: PartitionBatch): Promise<SaveResult> {
  await client.query('begin');
  try {
    const key = [batch.group, batch.topic, batch.partition];
    // The row lock makes a second saver of the same partition (a rebalance overlap) wait here.
    const current = await client.query<{ next_offset: number }>(sql.lock_stored_offset, key);
    const stored = current.rows[0] ? String(current.rows[0].next_offset) : null;
    if (stored !== batch.expectedOffset) {
      await client.query('rollback');
      return { status: 'moved', storedOffset: stored };
    }
    let inserted = 0;
    if (batch.staged.events > 0) {
      for (const [table, text] of Object.entries(batch.staged.tables)) {
        if (text.length > 0) await copyInto(client, table, text);
      }
      const moved = await client.query<{ inserted: number }>(sql[MOVE[batch.kind]]);
      inserted = moved.rows[0]?.inserted ?? 0;
    }
    if (batch.deadLetters.length > 0) await insertDeadLetters(client, sql, batch);
    const written =
      stored === null
        ? await client.query(sql.insert_stored_offset, [...key, batch.nextOffset])
        : await client.query(sql.advance_stored_offset, [...key, batch.nextOffset, stored]);
    if (written.rowCount !== 1) {
      await client.query('rollback');
      return { status: 'moved', storedOffset: await readStoredOffset(client, sql, batch.group, batch.topic, batch.partition) };
    }
    if (inserted > 0 && batch.kind !== 'catalog') await client.query(sql.add_speed_minute_metrics);
    await client.query('commit');
    return { status: 'saved', inserted, duplicates: batch.staged.events - inserted };
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  }
}

async function copyInto(client: PoolClient, table: string, text: string): Promise<void> {
  const stream = client.query(copyFrom(`copy ${table} from stdin`));
  await new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', reject);
    stream.end(text);
  });
}

async function insertDeadLetters(client: PoolClient, sql: SaverSql, batch: PartitionBatch): Promise<void> {
  const rows = batch.deadLetters;
  await client.query(sql.insert_dead_letters, [
    batch.topic,
    batch.partition,
    rows.map((d) => d.offset),
    rows.map((d) => d.key),
    rows.map((d) => d.reason),
    rows.map((d) => d.payload),
  ]);
}

/**
 * For a batch that Postgres refused as data (a value the steps did not foresee): tries each event
 * alone, inside a savepoint of a transaction that is rolled back, and returns why each refused one
 * was refused. The caller dead-letters those and saves the rest.
 */
export async function findRefusedEvents(
  client: PoolClient,
  sql: SaverSql,
  kind: StagedKind,
  events: readonly StagingCopy[],
): Promise<Map<number, string>> {
  const refused = new Map<number, string>();
  await client.query('begin');
  try {
    for (const [i, staged] of events.entries()) {
      await client.query('savepoint one_event');
      try {
        for (const [table, text] of Object.entries(staged.tables)) {
          if (text.length > 0) await copyInto(client, table, text);
        }
        await client.query(sql[MOVE[kind]]);
        if (kind !== 'catalog') await client.query(sql.add_speed_minute_metrics);
      } catch (error) {
        // Only a value refused as data is this event's fault; anything else stops the search.
        if (postgresFailure(error).retriable) throw error;
        refused.set(i, `refused by PostgreSQL: ${(error as Error).message} (${(error as { code?: string }).code})`);
      }
      await client.query('rollback to savepoint one_event');
    }
  } finally {
    await client.query('rollback').catch(() => undefined);
  }
  return refused;
}
