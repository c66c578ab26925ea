/**
 * The dashboards against real data: a realtime database and a warehouse built by the batch jobs
 * from 200,000 synthetic events. Every panel query, expanded as Grafana expands it, runs with All
 * and with a selection of each filter, returns rows and the columns its panel reads, within
 * 500 ms; and revenue has one definition, so the breakdowns add up to the KPI.
 * (`npm run grafana:check-sql -- --events 1000000` runs the same checks at a million events.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pool } from '@lambdamart/core';
import { salesOverviewUid, salesQueries, type Variables } from '@lambdamart/grafana';
import { checkAllPanels, sampleSelection } from '../grafana/check.ts';
import { buildWarehouse, synthesiseEvents, withDashboardDatabases } from '../grafana/data.ts';
import { loadDashboards, type PanelQuery, resolveRange, runPanel, variableStates } from '../grafana/panels.ts';

const events = 200_000;
const limitMs = 500;

const cents = (value: unknown) => Math.round(Number(value) * 100);
const sumCents = (rows: Record<string, unknown>[], column: string) => rows.reduce((sum, row) => sum + cents(row[column]), 0);

describe('Grafana dashboards on a warehouse built from generated data', () => {
  it(`every panel's SQL runs as Grafana would send it, and revenue adds up (${events.toLocaleString('en')} events)`, async (t) => {
    await withDashboardDatabases('grafana_e2e', async ({ config, rt, wh }) => {
      await synthesiseEvents(rt, events);
      await buildWarehouse(config);
      await wh.query('analyze');

      await t.test('each query returns rows (All) and the columns its panel reads, a time series a time column in order', async () => {
        const { runs, problems } = await checkAllPanels({ rt, wh }, { times: 1 });
        assert.equal(runs.length, 2 * loadDashboards().reduce((n, d) => n + d.queries.length, 0));
        assert.deepEqual(problems, []);
        const slowest = runs.reduce((a, b) => (b.ms > a.ms ? b : a));
        t.diagnostic(
          `${runs.length} queries; slowest ${slowest.ms.toFixed(1)} ms: ${slowest.query.dashboard} ${slowest.query.panel} (${slowest.label})`,
        );
        const slow = runs
          .filter((r) => r.ms > limitMs)
          .map((r) => `${r.query.dashboard} ${r.query.panel} ${r.label}: ${r.ms.toFixed(0)} ms`);
        assert.deepEqual(slow, [], `queries over ${limitMs} ms`);
      });

      const sales = loadDashboards().find((d) => d.json.uid === salesOverviewUid);
      assert.ok(sales);
      const range = resolveRange(sales.json.time);
      const query = (rawSql: string): PanelQuery => {
        const found = sales.queries.find((q) => q.rawSql === rawSql);
        assert.ok(found, 'the committed dashboard holds the query');
        return found;
      };
      const revenueOf = async (pool: Pool, variables: Variables) => {
        const kpi = await runPanel(pool, query(salesQueries.revenueKpi), range, variables);
        const byCategory = await runPanel(pool, query(salesQueries.revenueByCategory), range, variables);
        const byCountry = await runPanel(pool, query(salesQueries.revenueByCountry), range, variables);
        assert.equal(kpi.rows.length, 2, 'the KPI has the previous and the current period');
        return {
          kpi: cents(kpi.rows[1]?.revenue),
          byCategory: sumCents(byCategory.rows, 'revenue'),
          byCountry: sumCents(byCountry.rows, 'revenue'),
        };
      };

      await t.test('revenue by category and by country add up to the revenue KPI, which is the raw orders’ total', async () => {
        const all = await revenueOf(wh, await variableStates(wh, sales.json));
        assert.ok(all.kpi > 0);
        assert.equal(all.byCategory, all.kpi);
        assert.equal(all.byCountry, all.kpi);
        const { rows } = await rt.query<{ total: string }>(
          'select sum(total_amount) as total from transactions where transaction_timestamp between $1 and $2',
          [range.from, range.to],
        );
        assert.equal(all.kpi, cents(rows[0]?.total), 'the KPI is the total of the raw orders in range');
      });

      await t.test('they add up with a country, category and segment selected too', async () => {
        const selection = await sampleSelection(wh);
        const some = await revenueOf(wh, await variableStates(wh, sales.json, selection));
        const all = await revenueOf(wh, await variableStates(wh, sales.json));
        assert.ok(some.kpi > 0 && some.kpi < all.kpi, 'the selection filters');
        assert.equal(some.byCategory, some.kpi);
        assert.equal(some.byCountry, some.kpi);
      });

      await t.test('the products table and the revenue over time add up to the same KPI', async () => {
        const variables = await variableStates(wh, sales.json);
        const products = loadDashboards().find((d) => d.json.uid === 'lambdamart-products');
        const table = products?.queries.find((q) => q.panel.endsWith('"Products"'));
        const overTime = sales.queries.find((q) => q.panel.endsWith('"Revenue over time"'));
        assert.ok(table && overTime && products);
        assert.deepEqual(products.json.time, sales.json.time, 'the same default range');
        const kpi = cents((await runPanel(wh, query(salesQueries.revenueKpi), range, variables)).rows[1]?.revenue);
        assert.equal(sumCents((await runPanel(wh, table, range, variables)).rows, 'revenue'), kpi);
        assert.equal(sumCents((await runPanel(wh, overTime, range, variables)).rows, 'revenue'), kpi);
      });

      await t.test('real time: the revenue and orders stats equal their per-minute series and the raw rows', async () => {
        const dashboard = loadDashboards().find((d) => d.json.uid === 'lambdamart-realtime');
        assert.ok(dashboard);
        const realtimeRange = resolveRange(dashboard.json.time);
        const panel = (title: string) => {
          const found = dashboard.queries.find((q) => q.panel.endsWith(`"${title}"`));
          assert.ok(found, title);
          return found;
        };
        for (const selection of [{}, await sampleSelection(wh)]) {
          const variables = await variableStates(wh, dashboard.json, selection);
          const run = async (title: string) => (await runPanel(rt, panel(title), realtimeRange, variables)).rows;
          const revenue = cents((await run('Revenue'))[0]?.revenue);
          const orders = Number((await run('Orders'))[0]?.orders);
          assert.ok(revenue > 0 && orders > 0);
          assert.equal(sumCents(await run('Revenue per minute'), 'revenue'), revenue);
          assert.equal(
            (await run('Orders per minute')).reduce((n, r) => n + Number(r.orders), 0),
            orders,
          );
        }
        const { rows } = await rt.query<{ revenue: string; orders: number }>(
          `select sum(i.quantity * i.price) as revenue, count(distinct t.transaction_id)::int as orders
           from transactions t join transaction_items i using (transaction_id) where t.transaction_timestamp between $1 and $2`,
          [realtimeRange.from, realtimeRange.to],
        );
        const all = await variableStates(wh, dashboard.json);
        assert.equal(cents((await runPanel(rt, panel('Revenue'), realtimeRange, all)).rows[0]?.revenue), cents(rows[0]?.revenue));
        assert.equal(Number((await runPanel(rt, panel('Orders'), realtimeRange, all)).rows[0]?.orders), rows[0]?.orders);
      });
    });
  });
});
