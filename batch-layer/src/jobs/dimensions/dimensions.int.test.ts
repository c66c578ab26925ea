import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Config, Pool } from '@lambdamart/core';
import { runJobs } from '../../runner/runner.ts';
import { addCart, addCatalog, addOrder, addView, snapshotWarehouse, withBatchDatabases } from '../../testing/fixtures.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/**
 * The warehouse equals the one a full refresh of the same data gives. A full refresh keeps the
 * surrogate keys of the versions that did not change, so any other difference shows.
 */
async function assertSameAsFullRefresh(config: Config, wh: Pool, what: string): Promise<void> {
  const after = await snapshotWarehouse(wh);
  await runJobs(config, ['dimensions', 'facts'], { fullRefresh: true, triggeredBy: 'test' });
  assert.deepEqual(after, await snapshotWarehouse(wh), `${what}: the same warehouse as a full refresh`);
}

/** The dimensions' content without surrogate keys (which depend on the order rows arrived in). */
async function dimensionContent(wh: Pool): Promise<Record<string, unknown[]>> {
  const queries = {
    dim_products: `select product_id, name, category, price, effective_from, effective_to, is_current from dim_products
                   where product_id_pk <> -1 order by product_id, effective_from`,
    dim_customers: `select user_id, country, customer_segment, first_transaction_date, last_transaction_date, total_transactions,
                      total_spent, avg_order_value, effective_from, effective_to, is_current from dim_customers
                    where customer_id <> -1 order by user_id, effective_from`,
    dim_geography: 'select country, region from dim_geography where geography_id <> -1 order by country',
    // Each fact with the version it joins, by natural key and validity.
    fact_sales: `select f.event_id, c.user_id, c.effective_from as customer_from, p.product_id, p.effective_from as product_from, g.country
                 from fact_sales f
                 left join dim_customers c using (customer_id)
                 left join dim_products p using (product_id_pk)
                 left join dim_geography g using (geography_id)
                 order by f.event_id`,
  };
  const content: Record<string, unknown[]> = {};
  for (const [table, sql] of Object.entries(queries)) content[table] = (await wh.query(sql)).rows;
  return content;
}

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

  it('customer versions: a late order inside a run of identical versions splits it; the same as a full refresh', async () => {
    await withBatchDatabases('scdcl', async ({ config, rt, wh }) => {
      await addCatalog(rt, 'p1', '2025-01-01T00:00:00Z', { price: 50 });
      await addOrder(rt, { user: 'u1', at: '2026-01-10T10:00:00Z', country: 'US', lines: [['p1', 1, 50]] });
      await addOrder(rt, { user: 'u1', at: '2026-03-10T10:00:00Z', country: 'US', lines: [['p1', 1, 50]] });
      await addView(rt, 'u1', 'p1', '2026-02-20T10:00:00Z');
      await runJobs(config, ['dimensions', 'facts'], { triggeredBy: 'test' });
      const versions = async () =>
        (
          await wh.query(
            `select country, customer_segment, effective_from, effective_to, total_transactions, total_spent::float as spent
             from dim_customers where user_id = 'u1' order by effective_from`,
          )
        ).rows.map((v) => [v.country, v.customer_segment, iso(v.effective_from), iso(v.effective_to), v.total_transactions, v.spent]);
      assert.deepEqual(await versions(), [['US', 'Low Value', '2026-01-10T10:00:00.000Z', null, 2, 100]], 'two orders, one version');

      // A late order from another country, inside that version: it splits it in three.
      await addOrder(rt, { user: 'u1', at: '2026-02-01T10:00:00Z', country: 'CA', lines: [['p1', 1, 50]] });
      await runJobs(config, ['dimensions', 'facts'], { triggeredBy: 'test' });
      assert.deepEqual(await versions(), [
        ['US', 'Low Value', '2026-01-10T10:00:00.000Z', '2026-02-01T10:00:00.000Z', 1, 50],
        ['CA', 'Low Value', '2026-02-01T10:00:00.000Z', '2026-03-10T10:00:00.000Z', 2, 100],
        ['US', 'Low Value', '2026-03-10T10:00:00.000Z', null, 3, 150],
      ]);
      const viewVersion = await wh.query(
        `select c.country from fact_product_views f join dim_customers c using (customer_id) where f.user_id = 'u1'`,
      );
      assert.deepEqual(viewVersion.rows, [{ country: 'CA' }], 'the February view joins the CA version');
      await assertSameAsFullRefresh(config, wh, 'a late order of another country');

      // A late order of the same country inside the first version: no new version, the totals
      // of every later one grow; a late order that crosses a segment opens one.
      await addOrder(rt, { user: 'u1', at: '2026-01-20T10:00:00Z', country: 'US', lines: [['p1', 1, 10]] });
      await addOrder(rt, { user: 'u1', at: '2026-02-05T10:00:00Z', country: 'CA', lines: [['p1', 3, 50]] });
      await runJobs(config, ['dimensions', 'facts'], { triggeredBy: 'test' });
      assert.deepEqual(await versions(), [
        ['US', 'Low Value', '2026-01-10T10:00:00.000Z', '2026-02-01T10:00:00.000Z', 2, 60],
        ['CA', 'Low Value', '2026-02-01T10:00:00.000Z', '2026-02-05T10:00:00.000Z', 3, 110],
        ['CA', 'Medium Value', '2026-02-05T10:00:00.000Z', '2026-03-10T10:00:00.000Z', 4, 260],
        ['US', 'Medium Value', '2026-03-10T10:00:00.000Z', null, 5, 310],
      ]);
      await assertSameAsFullRefresh(config, wh, 'late orders inside versions');
    });
  });

  it('geography: a country first seen in a late event is added once; facts join it; the same as a full refresh', async () => {
    await withBatchDatabases('geol', async ({ config, rt, wh }) => {
      await addCatalog(rt, 'p1', '2025-01-01T00:00:00Z', { price: 5 });
      await addOrder(rt, { user: 'u1', at: '2026-03-10T10:00:00Z', country: 'US', lines: [['p1', 1, 5]] });
      await addOrder(rt, { user: 'u1', at: '2026-03-12T10:00:00Z', country: 'US', lines: [['p1', 1, 5]] });
      await runJobs(config, ['dimensions', 'facts'], { triggeredBy: 'test' });
      const countries = async () =>
        (await wh.query('select geography_id as key, country, region from dim_geography where geography_id <> -1 order by country')).rows;
      const before = await countries();
      // Late events inside the known range, from countries not seen yet: a view from JP, a cart
      // from nowhere known, an order from JP.
      await addView(rt, 'u2', 'p1', '2026-03-11T10:00:00Z', 'JP');
      await rt.query(
        `insert into cart_events (event_id, event_type, user_id, product_id, session_id, quantity, price, country, event_timestamp)
         values (gen_random_uuid(), 'add', 'u3', 'p1', 's', 1, 5, 'XZ', '2026-03-11T11:00:00Z')`,
      );
      await runJobs(config, ['dimensions', 'facts'], { triggeredBy: 'test' });
      await addOrder(rt, { user: 'u2', at: '2026-03-11T12:00:00Z', country: 'JP', lines: [['p1', 1, 5]] });
      await addCart(rt, 'u1', 'p1', '2026-03-11T13:00:00Z');
      await runJobs(config, ['dimensions', 'facts'], { triggeredBy: 'test' });
      const after = await countries();
      assert.deepEqual(
        after.map((c) => [c.country, c.region]),
        [
          ['JP', 'Asia Pacific'],
          ['US', 'North America'],
          ['XZ', 'Unknown'],
        ],
      );
      assert.deepEqual(
        after.filter((c) => c.country === 'US'),
        before,
        'US keeps its key',
      );
      const joined = await wh.query(
        `select 'view' as fact, g.country from fact_product_views f join dim_geography g using (geography_id)
         union all select 'cart', g.country from fact_cart_events f join dim_geography g using (geography_id)
         union all select 'sale', g.country from fact_sales f join dim_geography g using (geography_id) where f.user_id = 'u2'
         order by 1, 2`,
      );
      assert.deepEqual(
        joined.rows.map((r) => `${r.fact} ${r.country}`),
        ['cart US', 'cart XZ', 'sale JP', 'view JP'],
      );
      await assertSameAsFullRefresh(config, wh, 'late countries');
    });
  });

  it('property: any arrival order of the same records gives the dimensions of a full refresh', async () => {
    // Catalog records (runs of identical ones, a change back), and orders that move customers
    // between countries and segments, with event times in any order.
    const records: ((rt: Pool) => Promise<unknown>)[] = [
      ...(
        [
          ['p1', '2026-01-01', 10],
          ['p1', '2026-02-01', 12],
          ['p1', '2026-02-15', 12],
          ['p1', '2026-03-01', 12],
          ['p1', '2026-04-01', 10],
          ['p2', '2026-01-01', 5],
          ['p2', '2026-01-20', 6],
          ['p2', '2026-01-25', 6],
        ] as const
      ).map(
        ([product, day, price]) =>
          (rt: Pool) =>
            addCatalog(rt, product, `${day}T00:00:00Z`, { price }),
      ),
      ...(
        [
          ['u1', '2026-01-10', 'US', 50],
          ['u1', '2026-01-20', 'US', 10],
          ['u1', '2026-02-01', 'CA', 50],
          ['u1', '2026-02-05', 'CA', 150],
          ['u1', '2026-03-10', 'US', 50],
          ['u1', '2026-04-01', 'US', 900],
          ['u2', '2026-01-05', 'DE', 300],
          ['u2', '2026-02-05', 'DE', 20],
          ['u2', '2026-02-06', 'FR', 20],
          ['u2', '2026-02-07', 'DE', 20],
          ['u3', '2026-03-01', 'FR', 20],
          ['u3', '2026-03-02', 'FR', 20],
          // two orders at one instant from two countries: the later id's country wins
          ['u3', '2026-03-05', 'DE', 20],
          ['u3', '2026-03-05', 'GB', 20],
        ] as const
      ).map(
        ([user, day, country, amount], i) =>
          (rt: Pool) =>
            addOrder(rt, {
              id: `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`,
              user,
              at: `${day}T10:00:00Z`,
              country,
              lines: [[user === 'u3' ? 'p2' : 'p1', 1, amount]],
            }),
      ),
      (rt: Pool) => addView(rt, 'u1', 'p1', '2026-02-20T10:00:00Z', 'JP'),
      (rt: Pool) => addView(rt, 'u2', 'p2', '2026-01-22T10:00:00Z', 'BR'),
    ];
    let reference: Record<string, unknown[]> | undefined;
    for (const seed of [1, 2, 3, 4]) {
      await withBatchDatabases(`scdo${seed}`, async ({ config, rt, wh }) => {
        const random = mulberry32(seed);
        const shuffled = records.map((r) => ({ r, k: random() })).sort((a, b) => a.k - b.k);
        // Arrivals in 2 to 5 batches, each followed by an incremental run: with odd seeds without
        // a lookback (every batch is committed before the run: each run sees only its batch),
        // else with the default one (each run sees every batch again).
        const batches = 2 + Math.floor(random() * 4);
        for (let b = 0; b < batches; b++) {
          const batch = shuffled.slice(Math.floor((b * shuffled.length) / batches), Math.floor(((b + 1) * shuffled.length) / batches));
          for (const { r } of batch) await r(rt);
          await runJobs(config, ['dimensions', 'facts'], { lookbackMinutes: seed % 2 ? 0 : undefined, triggeredBy: 'test' });
        }
        const content = await dimensionContent(wh);
        await assertSameAsFullRefresh(config, wh, `arrival order ${seed}`);
        reference ??= content;
        assert.deepEqual(content, reference, `arrival order ${seed}: the dimensions of arrival order 1`);
      });
    }
  });
});

/** A small seeded generator: the same seed gives the same arrival order. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
