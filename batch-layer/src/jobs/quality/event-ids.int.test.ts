import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withPool, withTempDatabase } from '@lambdamart/test-helpers';
import { to as copyTo } from 'pg-copy-streams';
import { withBatchDatabases } from '../../testing/fixtures.ts';
import { expectedIdsPerMonth } from './duplicate-search.ts';
import { eventIdCopy, readEventIds } from './event-id-stream.ts';

/** What readEventIds hands on, as text: the id's bytes in hex and the days since 2000-01-01. */
async function read(chunks: Buffer[]): Promise<string[]> {
  const rows: string[] = [];
  async function* stream() {
    yield* chunks;
  }
  await readEventIds(stream(), (id, days) => rows.push(`${Buffer.from(id).toString('hex')} ${days}`));
  return rows;
}

describe('the quality job reads the event ids of a COPY stream', () => {
  it('reads every id and date whatever byte the stream is split at', async () => {
    await withTempDatabase('dq_ids', (url) =>
      withPool(url, async (pool) => {
        // Both kinds of event id (uuid, text) and dates on both sides of 2000-01-01.
        await pool.query(`create table ids (event_id uuid, event_date date)`);
        await pool.query(`create table text_ids (event_id text, event_date date)`);
        await pool.query(
          `insert into ids values ('0b0c5cde-3f55-4c1a-9a44-0d0b1a5e4f01', '2026-03-06'), ('ffffffff-0000-4000-8000-00000000000a', '1999-12-31'),
                                  ('12345678-9abc-4def-8123-456789abcdef', '2000-01-01')`,
        );
        await pool.query(`insert into text_ids values ('0b0c5cde-3f55-4c1a-9a44-0d0b1a5e4f01:1', '2026-01-10'), ('x:12', '2026-02-28')`);
        for (const [table, expected] of [
          ['ids', `select encode(uuid_send(event_id), 'hex') || ' ' || (event_date - date '2000-01-01') as row from ids`],
          [
            'text_ids',
            `select encode(convert_to(event_id, 'UTF8'), 'hex') || ' ' || (event_date - date '2000-01-01') as row from text_ids`,
          ],
        ] as const) {
          const want = (await pool.query<{ row: string }>(expected)).rows.map((r) => r.row);
          const client = await pool.connect();
          const parts: Buffer[] = [];
          try {
            for await (const chunk of client.query(
              copyTo(eventIdCopy(`select event_id, event_date from ${table}`, table === 'ids' ? 'uuid' : 'text')),
            ))
              parts.push(chunk as Buffer);
          } finally {
            client.release();
          }
          const bytes = Buffer.concat(parts);
          assert.deepEqual(await read([bytes]), want, `${table} in one chunk`);
          for (let at = 0; at <= bytes.length; at++) {
            assert.deepEqual(await read([bytes.subarray(0, at), bytes.subarray(at)]), want, `${table} split at byte ${at}`);
          }
          // One byte at a time: every boundary at once.
          assert.deepEqual(await read([...bytes].map((b) => Buffer.from([b]))), want, `${table} byte by byte`);
        }
      }),
    );
  });

  it('sizes the month filters from the partitions whatever else the warehouse holds and whatever join is planned', async () => {
    await withBatchDatabases('dq_months', async ({ wh }) => {
      // TOAST tables are named pg_toast_<oid>: once OIDs pass 100,000 their names end in six
      // digits that are no year and month (the benchmark failed on "197389"). A table named so
      // stands for one; a hash join reads all of pg_class, as the planner chose there.
      await wh.query('create table audit_197389 (note text)');
      const client = await wh.connect();
      try {
        await client.query('begin');
        await client.query('set local enable_nestloop = off');
        await client.query('set local enable_mergejoin = off');
        const expected = await expectedIdsPerMonth(client, 'fact_sales');
        assert.ok(expected.has('2026-01-01'), 'a month partition of the migration');
        assert.ok([...expected.keys()].every((month) => /^20\d\d-\d\d-01$/.test(month)));
        await client.query('rollback');
      } finally {
        client.release();
      }
    });
  });
});
