/** GET /products/performance and /products/top: the warehouse's daily product_performance, summed over a range. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorBody } from '../errors.ts';
import { readFactsWatermark } from '../merge.ts';
import { cachedRead } from '../read.ts';
import { sendAnswer } from '../respond.ts';
import {
  batchInfo,
  FormatQuery,
  listOf,
  offsetOf,
  PageQuery,
  pageOf,
  parseSort,
  RangeQuery,
  resolveRange,
  sortParam,
  toNumber,
} from '../schemas.ts';

const Performance = z.object({
  product_id: z.string(),
  category: z.string(),
  orders: z.number().int(),
  units: z.number().int(),
  revenue: z.number(),
  views: z.number().int(),
  cart_adds: z.number().int(),
  conversion: z.number().nullable().describe('orders / views; null without views'),
});

const sortColumns = {
  revenue: 'revenue',
  units: 'units',
  orders: 'orders',
  views: 'views',
  conversion: 'conversion',
  product_id: 'product_id',
} as const;
type SortField = keyof typeof sortColumns;

const Filters = z.object({
  category: z.string().min(1).max(100).optional(),
  product_id: z.string().min(1).max(100).optional(),
});

interface Row {
  product_id: string;
  category: string;
  orders: number;
  units: number;
  revenue: string;
  views: number;
  cart_adds: number;
  conversion: string | null;
}

/** Per product over [from, to): the daily rows summed; the category of its latest day. */
function performanceSql(order: string): string {
  return `select product_id, (array_agg(category order by analysis_date desc))[1] as category,
                 sum(total_sales)::bigint as orders, sum(total_quantity)::bigint as units, sum(total_revenue)::text as revenue,
                 sum(total_views)::bigint as views, sum(total_cart_adds)::bigint as cart_adds,
                 (sum(total_sales)::numeric / nullif(sum(total_views), 0))::text as conversion
          from product_performance
          where analysis_date >= $1::date and analysis_date < $2::date
            and ($3::text is null or category = $3) and ($4::text is null or product_id = $4)
          group by product_id
          having ($5::boolean is not true or sum(total_views) > 0)
          order by ${order}
          limit $6 offset $7`;
}

const toPerformance = (r: Row) => ({
  product_id: r.product_id,
  category: r.category,
  orders: toNumber(r.orders),
  units: toNumber(r.units),
  revenue: toNumber(r.revenue),
  views: toNumber(r.views),
  cart_adds: toNumber(r.cart_adds),
  conversion: r.conversion === null ? null : Number(Number(r.conversion).toFixed(6)),
});

const dateOf = (at: Date) => at.toISOString().slice(0, 10);

export const productsRoutes: FastifyPluginAsyncZod = async (app) => {
  const read = async (
    range: { from: Date; to: Date },
    filters: z.infer<typeof Filters>,
    sort: string,
    limit: number,
    offset: number,
    needsViews: boolean,
  ) => {
    const { field, direction } = parseSort<SortField>(sort);
    const order = `${sortColumns[field]} ${direction} nulls last, product_id`;
    // Days are whole: a range ending mid-day includes that day.
    const toDay = new Date(Math.ceil(range.to.getTime() / 86_400_000) * 86_400_000);
    return app.dbs.warehouse.snapshot(async (wh) => {
      const batchUntil = await readFactsWatermark(wh);
      const { rows } = await wh.query<Row>(performanceSql(order), [
        dateOf(range.from),
        dateOf(toDay),
        filters.category ?? null,
        filters.product_id ?? null,
        needsViews,
        limit + 1,
        offset,
      ]);
      return { batchUntil, rows: rows.map(toPerformance) };
    });
  };

  app.get(
    '/products/performance',
    {
      schema: {
        tags: ['analytics'],
        summary: 'Per product over a range: orders, units, revenue, views, cart adds, view-to-purchase conversion',
        querystring: RangeQuery.extend(Filters.shape)
          .extend(PageQuery.shape)
          .extend(FormatQuery.shape)
          .extend({ sort: sortParam(Object.keys(sortColumns) as [SortField, ...SortField[]], '-revenue') }),
        response: { 200: listOf(Performance, 'ProductPerformanceList'), 400: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const offset = offsetOf(q.cursor);
      const { value, hit, maxAgeSeconds, entry } = await cachedRead(app, request, false, async () => {
        const { batchUntil, rows } = await read(resolveRange(q), q, q.sort, q.limit, offset, false);
        return { ...batchInfo(batchUntil), ...pageOf(rows, q.limit, offset) };
      });
      return sendAnswer(request, reply, { body: value, maxAgeSeconds, cacheHit: hit, entry, rows: () => value.data });
    },
  );

  app.get(
    '/products/top',
    {
      schema: {
        tags: ['analytics'],
        summary: 'The top products of a range by revenue, units, views or conversion',
        querystring: RangeQuery.extend({ category: Filters.shape.category })
          .extend(FormatQuery.shape)
          .extend({
            by: z.enum(['revenue', 'units', 'views', 'conversion']).default('revenue'),
            limit: z.coerce.number().int().min(1).max(100).default(10),
          }),
        response: { 200: listOf(Performance.extend({ rank: z.number().int() }), 'TopProducts'), 400: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const { value, hit, maxAgeSeconds, entry } = await cachedRead(app, request, false, async () => {
        const { batchUntil, rows } = await read(resolveRange(q), { category: q.category }, `-${q.by}`, q.limit, 0, q.by === 'conversion');
        return { ...batchInfo(batchUntil), data: rows.slice(0, q.limit).map((r, i) => ({ rank: i + 1, ...r })), next_cursor: null };
      });
      return sendAnswer(request, reply, { body: value, maxAgeSeconds, cacheHit: hit, entry, rows: () => value.data });
    },
  );
};
