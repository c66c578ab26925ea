/** The event ids of a fact as a COPY stream: read as bytes, without a JavaScript string per id. */
import { LambdamartError, type PoolClient } from '@lambdamart/core';
import { to as copyTo } from 'pg-copy-streams';
import type { FactTable } from '../../shared/fact-tables.ts';

/**
 * Calls `row` with each event id (its bytes: a uuid's 16, a text's characters: what the stored
 * filters were built from) and event date (days since 2000-01-01) of `query`. The ids come as
 * hex in a text COPY, one row a line: lines split anywhere between stream chunks are simply
 * joined, and no value can hold the tab or newline that delimit them.
 */
export async function forEachEventId(
  client: PoolClient,
  fact: FactTable,
  query: string,
  row: (id: Uint8Array, days: number) => void,
): Promise<void> {
  await readEventIds(client.query(copyTo(eventIdCopy(query, fact === 'fact_sales' ? 'text' : 'uuid'))), row);
}

/** The COPY of `query`'s (event_id, event_date) whose output readEventIds reads. */
export function eventIdCopy(query: string, idType: 'uuid' | 'text'): string {
  const bytes = idType === 'uuid' ? 'uuid_send(event_id)' : `convert_to(event_id, 'UTF8')`;
  return `copy (select encode(${bytes}, 'hex'), event_date - date '2000-01-01' from (${query}) ids) to stdout`;
}

/** Reads the output of eventIdCopy, in chunks split anywhere. */
export async function readEventIds(chunks: AsyncIterable<unknown>, row: (id: Uint8Array, days: number) => void): Promise<void> {
  let id = new Uint8Array(64);
  const line = (buf: Buffer, start: number, end: number) => {
    const tab = buf.indexOf(9, start);
    if (tab < 0 || tab > end || (tab - start) % 2 !== 0)
      throw new LambdamartError(
        'LM_ERR_BATCH_EVENT_ID_STREAM',
        `event id COPY: malformed row ${JSON.stringify(buf.toString('latin1', start, end))}`,
      );
    const length = (tab - start) / 2;
    if (length > id.length) id = new Uint8Array(length * 2);
    for (let i = 0; i < length; i++) id[i] = (hexValue(buf[start + 2 * i]) << 4) | hexValue(buf[start + 2 * i + 1]);
    row(id.subarray(0, length), Number(buf.toString('latin1', tab + 1, end)));
  };
  let rest: Buffer | null = null;
  for await (const chunk of chunks) {
    const buf = chunk as Buffer;
    let at = 0;
    if (rest) {
      const newline = buf.indexOf(10);
      if (newline < 0) {
        rest = Buffer.concat([rest, buf]);
        continue;
      }
      const joined: Buffer = Buffer.concat([rest, buf.subarray(0, newline)]);
      line(joined, 0, joined.length);
      at = newline + 1;
      rest = null;
    }
    for (let newline = buf.indexOf(10, at); newline >= 0; newline = buf.indexOf(10, at)) {
      line(buf, at, newline);
      at = newline + 1;
    }
    if (at < buf.length) rest = buf.subarray(at);
  }
  if (rest) throw new LambdamartError('LM_ERR_BATCH_EVENT_ID_STREAM', 'event id COPY: the stream ended inside a row');
}

function hexValue(c: number | undefined): number {
  // '0'-'9' are 48-57, 'a'-'f' 97-102 (encode() writes lower case).
  if (c !== undefined && c >= 48 && c <= 57) return c - 48;
  if (c !== undefined && c >= 97 && c <= 102) return c - 87;
  throw new LambdamartError(
    'LM_ERR_BATCH_EVENT_ID_STREAM',
    `event id COPY: ${c === undefined ? 'a missing' : `the byte ${c} is not a`} hex digit`,
  );
}

const months = new Map<number, string>();
/** The first day of the month of a date given as days since 2000-01-01 (PostgreSQL's binary date). */
export function monthOf(days: number): string {
  let month = months.get(days);
  if (month === undefined) {
    month = `${new Date(Date.UTC(2000, 0, 1 + days)).toISOString().slice(0, 8)}01`;
    months.set(days, month);
  }
  return month;
}

export function uuidText(id: Uint8Array): string {
  const hex = Buffer.from(id).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
