import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runJobs } from './runner.ts';
import { addCatalog, addOrder, addView, withBatchDatabases } from './testing/fixtures.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

describe('dimensions and facts (SCD2, point in time)', () => {
  it('product versions: a price change, a change back, a late-arriving change; facts re-pointed', async () => {
    await withBatchDatabases('scdp', async ({ config, rt, wh }) => {
      await addCatalog(rt, 'p1', '2026-01-01T00:00:00Z', { price: 10 });
      await addCatalog(rt, 'p1', '2026-02-01T00:00:00Z', { price: 12 });
      await addCatalog(rt, 'p1', '2026-03-01T00:00:00Z', { price: 10 });
      await addCatalog(rt, 'p1', '2026-03-05T00:00:00Z', { price: 10 }); // same attributes: no new version
      await addOrder(rt, { id: '00000000-0000-4000-8000-000000000001', user: 'u1', at: '2026-01-20T12:00:00Z', lines: [['p1', 1, 10]] });
      await addView(rt, 'u1', 'p1', '2026-02-10T08:00:00Z');
      await runJobs(config, ['dimensions', 'facts'], { triggeredBy: 'test' });

      const versions = async () =>
        (
          await wh.query(
            `select product_id_pk as key, price::float as price, effective_from, effective_to, is_current
             from dim_products where product_id = 'p1' order by effective_from`,
          )
        ).rows;
      const first = await versions();
      assert.deepEqual(
        first.map((v) => [v.price, iso(v.effective_from), iso(v.effective_to), v.is_current]),
        [
          [10, '2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z', false],
          [12, '2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z', false],
          [10, '2026-03-01T00:00:00.000Z', null, true],
        ],
      );
      const saleKey = async () =>
        (
          await wh.query<{ k: number }>(
            `select product_id_pk as k from fact_sales where transaction_id = '00000000-0000-4000-8000-000000000001'`,
          )
        ).rows[0]?.k;
      assert.equal(await saleKey(), first[0]?.key, 'the January sale joins the January version, not the current one');
      const viewKey = (await wh.query<{ k: number }>('select product_id_pk as k from fact_product_views')).rows[0]?.k;
      assert.equal(viewKey, first[1]?.key, 'the February view joins the February version');

      // A change dated January 15 arrives late: it splits the first version, and the January 20
      // sale now belongs to the new version.
      await addCatalog(rt, 'p1', '2026-01-15T00:00:00Z', { price: 11 });
      await runJobs(config, ['dimensions', 'facts'], { triggeredBy: 'test' });
      const second = await versions();
      assert.deepEqual(
        second.map((v) => [v.price, iso(v.effective_from), iso(v.effective_to), v.is_current]),
        [
          [10, '2026-01-01T00:00:00.000Z', '2026-01-15T00:00:00.000Z', false],
          [11, '2026-01-15T00:00:00.000Z', '2026-02-01T00:00:00.000Z', false],
          [12, '2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z', false],
          [10, '2026-03-01T00:00:00.000Z', null, true],
        ],
      );
      assert.deepEqual(
        second.filter((v) => v.price !== 11).map((v) => v.key),
        first.map((v) => v.key),
        'existing versions keep their surrogate keys',
      );
      assert.equal(await saleKey(), second[1]?.key, 'the sale is re-pointed to the late version');
    });
  });

  it('customer versions: a customer who moves and moves back, and crosses a value segment', async () => {
    await withBatchDatabases('scdc', async ({ config, rt, wh }) => {
      await addCatalog(rt, 'p1', '2025-01-01T00:00:00Z', { price: 100 });
      await addOrder(rt, { user: 'u1', at: '2026-01-10T10:00:00Z', country: 'US', lines: [['p1', 1, 100]] });
      await addOrder(rt, { user: 'u1', at: '2026-02-10T10:00:00Z', country: 'CA', lines: [['p1', 1, 100]] });
      await runJobs(config, ['dimensions', 'facts'], { triggeredBy: 'test' });
      await addOrder(rt, { user: 'u1', at: '2026-03-10T10:00:00Z', country: 'US', lines: [['p1', 1, 100]] });
      // Two orders at the same instant from two countries: one version, not an empty one.
      await addOrder(rt, {
        id: '00000000-0000-4000-8000-00000000000a',
        user: 'u2',
        at: '2026-03-01T10:00:00Z',
        country: 'US',
        lines: [['p1', 1, 1]],
      });
      await addOrder(rt, {
        id: '00000000-0000-4000-8000-00000000000b',
        user: 'u2',
        at: '2026-03-01T10:00:00Z',
        country: 'GB',
        lines: [['p1', 1, 1]],
      });
      await runJobs(config, ['dimensions', 'facts'], { triggeredBy: 'test' });
      const u2 = await wh.query(`select country, total_transactions from dim_customers where user_id = 'u2'`);
      assert.deepEqual(u2.rows, [{ country: 'GB', total_transactions: 2 }]);

      const { rows } = await wh.query(
        `select customer_id, country, customer_segment, effective_from, effective_to, is_current, total_transactions, total_spent::float as spent
         from dim_customers where user_id = 'u1' order by effective_from`,
      );
      assert.deepEqual(
        rows.map((r) => [
          r.country,
          r.customer_segment,
          iso(r.effective_from),
          iso(r.effective_to),
          r.is_current,
          r.total_transactions,
          r.spent,
        ]),
        [
          ['US', 'Low Value', '2026-01-10T10:00:00.000Z', '2026-02-10T10:00:00.000Z', false, 1, 100],
          ['CA', 'Medium Value', '2026-02-10T10:00:00.000Z', '2026-03-10T10:00:00.000Z', false, 2, 200],
          ['US', 'Medium Value', '2026-03-10T10:00:00.000Z', null, true, 3, 300],
        ],
      );
      const facts = await wh.query<{ customer_id: number }>(
        `select customer_id from fact_sales where user_id = 'u1' order by transaction_timestamp`,
      );
      assert.deepEqual(
        facts.rows.map((r) => r.customer_id),
        rows.map((r) => r.customer_id),
        'each sale joins the customer version valid at its time',
      );
    });
  });

  it('customer versions: a late order rewrites the history from its time, facts follow; a rerun changes nothing', async () => {
    await withBatchDatabases('scdl', async ({ config, rt, wh }) => {
      await addCatalog(rt, 'p1', '2025-01-01T00:00:00Z', { price: 50 });
      await addOrder(rt, { user: 'u1', at: '2026-01-10T10:00:00Z', lines: [['p1', 3, 50]] });
      await addOrder(rt, { user: 'u1', at: '2026-03-10T10:00:00Z', lines: [['p1', 2, 50]] });
      await addView(rt, 'u1', 'p1', '2026-02-20T10:00:00Z');
      await runJobs(config, ['dimensions', 'facts'], { triggeredBy: 'test' });
      const versions = async () =>
        (
          await wh.query(
            `select customer_id as key, customer_segment, effective_from, effective_to, total_transactions, total_spent::float as spent
             from dim_customers where user_id = 'u1' order by effective_from`,
          )
        ).rows;
      const before = await versions();
      assert.deepEqual(
        before.map((v) => [v.customer_segment, iso(v.effective_from), iso(v.effective_to), v.total_transactions, v.spent]),
        [
          ['Low Value', '2026-01-10T10:00:00.000Z', '2026-03-10T10:00:00.000Z', 1, 150],
          ['Medium Value', '2026-03-10T10:00:00.000Z', null, 2, 250],
        ],
      );
      const viewKey = async () => (await wh.query<{ k: number }>('select customer_id as k from fact_product_views')).rows[0]?.k;
      assert.equal(await viewKey(), before[0]?.key, 'the February view joins the January version');

      // An order of February 1 arrives late: u1 reaches Medium Value then, not in March.
      await addOrder(rt, { user: 'u1', at: '2026-02-01T10:00:00Z', lines: [['p1', 1, 50]] });
      await runJobs(config, ['dimensions', 'facts'], { triggeredBy: 'test' });
      const after = await versions();
      assert.deepEqual(
        after.map((v) => [v.key, v.customer_segment, iso(v.effective_from), iso(v.effective_to), v.total_transactions, v.spent]),
        [
          [before[0]?.key, 'Low Value', '2026-01-10T10:00:00.000Z', '2026-02-01T10:00:00.000Z', 1, 150],
          [before[1]?.key, 'Medium Value', '2026-02-01T10:00:00.000Z', null, 3, 300],
        ],
        'the versions keep their keys and take their new ranges and totals',
      );
      assert.equal(await viewKey(), after[1]?.key, 'the February view is re-pointed to the Medium Value version');
      const sales = await wh.query<{ k: number }>(
        `select customer_id as k from fact_sales where user_id = 'u1' order by transaction_timestamp`,
      );
      assert.deepEqual(
        sales.rows.map((r) => r.k),
        [after[0]?.key, after[1]?.key, after[1]?.key],
      );

      const [rerun] = await runJobs(config, ['dimensions'], { triggeredBy: 'test' });
      assert.equal(rerun?.rowsOut, 0, 'no new data: nothing changes');
      assert.deepEqual(await versions(), after);
    });
  });

  it('late events are picked up: an old event time, and a row committed just behind the watermark', async () => {
    await withBatchDatabases('late', async ({ config, rt, wh }) => {
      await addCatalog(rt, 'p1', '2025-01-01T00:00:00Z', { price: 5 });
      await addOrder(rt, { user: 'u1', at: '2026-05-01T10:00:00Z', lines: [['p1', 2, 5]] });
      await runJobs(config, ['dimensions', 'facts'], { triggeredBy: 'test' });
      const watermark = (await wh.query<{ w: Date }>(`select watermark as w from etl_watermarks where job_name = 'facts'`)).rows[0]?.w;
      assert.ok(watermark);

      // An order from last year, arriving now; and one whose ingestion time is a minute behind
      // the watermark (a transaction that committed after the last run read its snapshot).
      await addOrder(rt, { user: 'u2', at: '2025-03-01T10:00:00Z', lines: [['p1', 1, 5]] });
      const behind = new Date(watermark.getTime() - 60_000).toISOString();
      await addOrder(rt, { user: 'u3', at: '2026-05-01T09:00:00Z', lines: [['p1', 1, 5]], ingestedAt: behind });
      await runJobs(config, ['dimensions', 'facts'], { triggeredBy: 'test' });
      const { rows } = await wh.query<{ user_id: string }>('select user_id from fact_sales order by user_id');
      assert.deepEqual(
        rows.map((r) => r.user_id),
        ['u1', 'u2', 'u3'],
      );
      // u1's order is read again by the lookback, and counted once.
      const u1 = await wh.query<{ n: number }>(`select total_transactions::int as n from dim_customers where user_id = 'u1'`);
      assert.deepEqual(
        u1.rows.map((r) => r.n),
        [1],
      );
    });
  });
});
