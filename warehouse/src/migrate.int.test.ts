import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RealtimeTables, WarehouseTables } from '@lambdamart/core';
import { withPool, withTempDatabase } from '@lambdamart/test-helpers';
import { migrateDown, migrateUp, migrationStatus } from './migrate.ts';

async function tables(url: string): Promise<string[]> {
  return withPool(url, async (pool) => {
    const { rows } = await pool.query<{ name: string }>(
      `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition
         and c.relname not like 'knex_%' order by 1`,
    );
    return rows.map((r) => r.name);
  });
}

describe('migrations', () => {
  it('realtime: up creates every table of core, down removes them, up again is clean', async () => {
    await withTempDatabase('rt', async (url) => {
      const all = ['0001_raw_events', '0002_dead_letter_replays', '0003_api_idempotency'];
      assert.deepEqual(await migrateUp('realtime', url), all);
      assert.deepEqual(await migrateUp('realtime', url), [], 'a second up applies nothing');
      assert.deepEqual(await tables(url), Object.values(RealtimeTables).sort());
      // knex rolls back the last batch: every migration that one up applied.
      assert.deepEqual(await migrateDown('realtime', url), [...all].reverse());
      assert.deepEqual(await tables(url), []);
      assert.deepEqual(await migrateUp('realtime', url), all);
      assert.deepEqual(await migrationStatus('realtime', url), { applied: all, pending: [] });
    });
  });

  it('warehouse: up, down, up; every table of core exists; facts are partitioned by month with a default', async () => {
    await withTempDatabase('wh', async (url) => {
      await migrateUp('warehouse', url);
      await migrateDown('warehouse', url);
      assert.deepEqual(await tables(url), []);
      await migrateUp('warehouse', url);
      assert.deepEqual(await tables(url), Object.values(WarehouseTables).sort());
      await withPool(url, async (pool) => {
        const { rows } = await pool.query<{ parent: string; partitions: number; has_default: boolean }>(
          `select p.relname as parent, count(*)::int as partitions,
                  bool_or(pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT') as has_default
           from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent
           where p.relkind = 'p' and p.relname like 'fact_%' group by 1 order by 1`,
        );
        assert.equal(rows.length, 3);
        for (const row of rows) {
          assert.ok(row.has_default, `${row.parent} has a default partition`);
          assert.ok(row.partitions >= 37, `${row.parent} has monthly partitions from 2024 on (${row.partitions})`);
        }
      });
    });
  });

  it('warehouse: a row of an uncovered month lands in the default partition and moves when its month is made', async () => {
    await withTempDatabase('part', async (url) => {
      await migrateUp('warehouse', url);
      await withPool(url, async (pool) => {
        await pool.query(`insert into dim_date values (20300115, '2030-01-15', 2030, 1, 1, 'January', 15, 2, 'Tuesday', 3, 2030, false)`);
        await pool.query(
          `insert into fact_product_views (event_id, date_id, customer_id, product_id_pk, geography_id, user_id, product_id,
             session_id, view_duration, event_timestamp, event_date, ingested_at)
           values ('0d2f4c4e-2b8a-4c4e-8f5e-6a0b2c9d1e73', 20300115, -1, -1, -1, 'u', 'p', 's', 3,
                   '2030-01-15T10:00:00Z', '2030-01-15', now())`,
        );
        const where = async () =>
          (await pool.query<{ t: string }>('select tableoid::regclass::text as t from fact_product_views')).rows[0]?.t;
        assert.equal(await where(), 'fact_product_views_default');
        const made = await pool.query<{ n: number }>(
          `select ensure_month_partitions('fact_product_views', '2030-01-01', '2030-02-01') as n`,
        );
        assert.equal(made.rows[0]?.n, 2);
        assert.equal(await where(), 'fact_product_views_203001');
        const again = await pool.query<{ n: number }>(
          `select ensure_month_partitions('fact_product_views', '2030-01-01', '2030-02-01') as n`,
        );
        assert.equal(again.rows[0]?.n, 0, 'idempotent');
      });
    });
  });

  it('warehouse: SCD2 constraints refuse overlapping versions and a second current row', async () => {
    await withTempDatabase('scd', async (url) => {
      await migrateUp('warehouse', url);
      await withPool(url, async (pool) => {
        const insert = (from: string, to: string | null) =>
          pool.query(
            `insert into dim_products (product_id, name, category, price, effective_from, effective_to, is_current)
             values ('p1', 'Shoe', 'Sports', 10, $1::timestamptz, $2::timestamptz, $2::timestamptz is null)`,
            [from, to],
          );
        // A closed version must be followed by one starting where it ends (checked at commit).
        await insert('2025-02-01T00:00:00Z', null);
        await insert('2025-01-01T00:00:00Z', '2025-02-01T00:00:00Z');
        await assert.rejects(
          insert('2025-01-15T00:00:00Z', '2025-01-20T00:00:00Z'),
          /foreign key constraint "dim_products_next_version_fkey"/,
        );
        await assert.rejects(insert('2026-01-01T00:00:00Z', null), /duplicate key/);
      });
    });
  });
});
