/** GET /api/v1/sales: revenue, orders and units over time, merged batch + speed. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorBody } from '../errors.ts';
import { readMerged } from '../merge.ts';
import { batchSideCache, cachedRead } from '../read.ts';
import { sendAnswer } from '../respond.ts';
import { aggregateAnswers, salesDailyIsCurrent, seriesAggregateSql, wholeDays } from '../sales-daily.ts';
import { batchLinesSql, cents, fromCents, type LineFilters, lineLevel, ordersSql, speedLinesSql } from '../sales-sql.ts';
import { FormatQuery, MergeInfo, RangeQuery, resolveRange, SalesFiltersQuery, SourceQuery } from '../schemas.ts';
import { lineFiltersOf } from './line-filters.ts';

const SalesQuery = RangeQuery.extend(SalesFiltersQuery.shape)
  .extend(SourceQuery.shape)
  .extend(FormatQuery.shape)
  .extend({
    interval: z.enum(['hour', 'day', 'week', 'month']).default('day').describe('bucket size (UTC; weeks start on Monday)'),
    split_by: z.enum(['country', 'category']).optional().describe('one series per country or per category'),
    sort: z.enum(['period', '-period']).default('period').describe('period ascending (default) or descending'),
  });

const Point = z.object({
  period: z.string().describe('start of the bucket, ISO UTC'),
  group: z.string().nullable().describe('the country or category with split_by, else null'),
  revenue: z.number(),
  orders: z.number().int().describe('orders with a line in the bucket (and group)'),
  units: z.number().int(),
});

const SalesResponse = MergeInfo.extend({
  interval: z.enum(['hour', 'day', 'week', 'month']),
  from: z.string(),
  to: z.string(),
  data: z.array(Point),
}).meta({ id: 'Sales' });

interface SeriesRow {
  period: Date;
  grp: string | null;
  revenue: string;
  orders: number;
  units: number;
}

/** Buckets of `lines`; orders of one bucket add up across sides, since a transaction is on one side only. */
function seriesSql(lines: string, intervalParam: string, splitBy: 'country' | 'category' | undefined, filters: LineFilters): string {
  const group = splitBy === 'country' ? 'country' : splitBy === 'category' ? 'category' : 'null::text';
  return `with lines as (${lines})
          select date_trunc(${intervalParam}, ts at time zone 'UTC') at time zone 'UTC' as period, ${group} as grp,
                 sum(revenue)::text as revenue, ${ordersSql(lineLevel(filters, splitBy), 'true')} as orders, sum(quantity)::bigint as units
          from lines group by 1, 2`;
}

export const salesRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/sales',
    {
      schema: {
        tags: ['sales'],
        summary: 'Revenue, orders and units over time (hour, day, week, month), optionally split by country or category',
        querystring: SalesQuery,
        response: { 200: SalesResponse, 400: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const query = request.query;
      const range = resolveRange(query);
      const filters = lineFiltersOf(query);
      const source = query.source ?? 'merged';
      const columns = { country: query.split_by === 'country', category: query.split_by === 'category' };
      const { value, hit, maxAgeSeconds, entry } = await cachedRead(app, request, source !== 'batch', async () => {
        const read =
          (sql: (values: unknown[]) => string) => async (client: { query: (s: string, v: unknown[]) => Promise<{ rows: unknown[] }> }) => {
            const values: unknown[] = [];
            const lines = sql(values);
            values.push(query.interval);
            return (await client.query(seriesSql(lines, `$${values.length}`, query.split_by, filters), values)).rows as SeriesRow[];
          };
        // Days, weeks and months of whole days: the batch side from the daily aggregate when it can answer (sales-daily.ts).
        const fromAggregate = query.interval !== 'hour' && aggregateAnswers(filters, query.split_by) && wholeDays(range);
        const result = await readMerged<SeriesRow[], SeriesRow[]>(
          app.dbs,
          source,
          range,
          {
            speed: (rt, split) => read((values) => speedLinesSql(split, range, filters, values, columns))(rt),
            batch: async (wh, split) => {
              if (fromAggregate && (await salesDailyIsCurrent(wh, split.batchUntil))) {
                const values: unknown[] = [];
                const sql = seriesAggregateSql(range, query.interval, filters.country, query.split_by === 'country', values);
                return (await wh.query(sql, values)).rows as SeriesRow[];
              }
              return read((values) => batchLinesSql(range, filters, values, columns))(wh);
            },
          },
          { segment: query.segment, batchCache: batchSideCache(app, request) },
        );
        const merged = new Map<string, { period: string; group: string | null; revenueCents: number; orders: number; units: number }>();
        for (const row of [...(result.batch ?? []), ...(result.speed ?? [])]) {
          const period = new Date(row.period).toISOString();
          const key = `${period}|${row.grp ?? ''}`;
          const point = merged.get(key) ?? { period, group: row.grp, revenueCents: 0, orders: 0, units: 0 };
          point.revenueCents += cents(row.revenue);
          point.orders += Number(row.orders);
          point.units += Number(row.units);
          merged.set(key, point);
        }
        const data = [...merged.values()]
          .sort(
            (a, b) =>
              (query.sort === '-period' ? -1 : 1) * a.period.localeCompare(b.period) || (a.group ?? '').localeCompare(b.group ?? ''),
          )
          .map((p) => ({ period: p.period, group: p.group, revenue: fromCents(p.revenueCents), orders: p.orders, units: p.units }));
        return {
          source: result.split.source,
          batch_until: result.split.batchUntil?.toISOString() ?? null,
          as_of: new Date().toISOString(),
          interval: query.interval,
          from: range.from.toISOString(),
          to: range.to.toISOString(),
          data,
        };
      });
      return sendAnswer(request, reply, {
        body: value,
        maxAgeSeconds,
        cacheHit: hit,
        entry,
        columns: ['period', 'group', 'revenue', 'orders', 'units'],
        rows: () => value.data,
      });
    },
  );
};
