/**
 * The savers' SQL, from warehouse/sql/realtime/speed: plain files a data engineer reads and runs
 * with psql (parameters as $1.., see the README there), read once at start.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sqlDir } from '@lambdamart/warehouse';

const speedSqlDir = join(sqlDir, 'realtime', 'speed');

const FILES = [
  'staging_tables',
  'move_transactions',
  'move_product_views',
  'move_cart_events',
  'move_catalog',
  'add_speed_minute_metrics',
  'insert_dead_letters',
  'read_stored_offset',
  'lock_stored_offset',
  'read_group_offsets',
  'insert_stored_offset',
  'advance_stored_offset',
  'restart_stored_offset',
  'show_dead_letter',
  'mark_dead_letters_replayed',
] as const;

export type SaverStatement = (typeof FILES)[number];
export type SaverSql = Readonly<Record<SaverStatement, string>>;

/** A file's statement as sent: the trailing semicolon dropped, so that one statement is one query. */
export function statementOf(text: string): string {
  return text.trim().replace(/;\s*$/, '');
}

let loading: Promise<SaverSql> | undefined;

/** Every statement of the savers, read on the first call (a missing file fails the start). */
export function loadSaverSql(): Promise<SaverSql> {
  loading ??= Promise.all(FILES.map(async (name) => [name, statementOf(await readFile(join(speedSqlDir, `${name}.sql`), 'utf8'))])).then(
    (entries) => Object.fromEntries(entries) as SaverSql,
  );
  return loading;
}
