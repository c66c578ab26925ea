/** GET /trends: sales_trends per period (week, month, quarter) and category, with growth against the previous period. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorBody } from '../errors.ts';
import { readFactsWatermark } from '../merge.ts';
import { cachedRead } from '../read.ts';
import { sendAnswer } from '../respond.ts';
import { batchInfo, FormatQuery, listOf, offsetOf, PageQuery, pageOf, RangeQuery, resolveRange, toNumber } from '../schemas.ts';

const Trend = z.object({
  period: z.string().describe("e.g. '2026-W47', '2026-11', '2026-Q4'"),
  period_start: z.string(),
  category: z.string(),
  orders: z.number().int(),
  revenue: z.number(),
  average_order_value: z.number().nullable(),
  units: z.number().int(),
  growth_rate: z
    .number()
    .nullable()
    .describe('revenue growth against the calendar-previous period (0.1 = +10%); null when that period had no sales'),
  is_complete: z.boolean().describe('false for the period still under way on the analysis date (partial figures)'),
});

export const trendsRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/trends',
    {
      schema: {
        tags: ['analytics'],
        summary: 'Sales trends by period and category, with growth against the previous period',
        querystring: RangeQuery.extend(PageQuery.shape)
          .extend(FormatQuery.shape)
          .extend({
            period: z.enum(['week', 'month', 'quarter']).default('month'),
            category: z.string().min(1).max(100).optional(),
            sort: z.enum(['period', '-period']).default('period'),
          }),
        response: { 200: listOf(Trend, 'Trends'), 400: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const q = request.query;
      // Trends look back further than a month by default: a year of periods.
      const range = resolveRange(q, new Date(), 366);
      const offset = offsetOf(q.cursor);
      const { value, hit, maxAgeSeconds, entry } = await cachedRead(app, request, false, async () =>
        app.dbs.warehouse.snapshot(async (wh) => {
          const batchUntil = await readFactsWatermark(wh);
          const { rows } = await wh.query<{
            period_value: string;
            period_start: string;
            category: string;
            total_sales: number;
            total_revenue: string;
            avg_order_value: string | null;
            total_quantity: number;
            growth_rate: string | null;
            is_complete: boolean;
          }>(
            `select period_value, period_start::text as period_start, category, total_sales, total_revenue::text as total_revenue,
                    avg_order_value::text as avg_order_value, total_quantity, growth_rate::text as growth_rate, is_complete
             from sales_trends
             where period_type = $1 and period_start >= $2::date and period_start < $3::date and ($4::text is null or category = $4)
             order by period_start ${q.sort === '-period' ? 'desc' : 'asc'}, category
             limit $5 offset $6`,
            [q.period, range.from.toISOString().slice(0, 10), range.to.toISOString().slice(0, 10), q.category ?? null, q.limit + 1, offset],
          );
          const data = rows.map((r) => ({
            period: r.period_value,
            period_start: r.period_start,
            category: r.category,
            orders: toNumber(r.total_sales),
            revenue: toNumber(r.total_revenue),
            average_order_value: r.avg_order_value === null ? null : toNumber(r.avg_order_value),
            units: toNumber(r.total_quantity),
            growth_rate: r.growth_rate === null ? null : toNumber(r.growth_rate),
            is_complete: r.is_complete,
          }));
          return { ...batchInfo(batchUntil), ...pageOf(data, q.limit, offset) };
        }),
      );
      return sendAnswer(request, reply, { body: value, maxAgeSeconds, cacheHit: hit, entry, rows: () => value.data });
    },
  );
};
