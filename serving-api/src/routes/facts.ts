/** GET /facts/sales: fact_sales at line grain, filtered and keyset-paginated, for consumers who pull the table. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorBody } from '../errors.ts';
import { readFactsWatermark } from '../merge.ts';
import { sendAnswer } from '../respond.ts';
import {
  batchInfo,
  decodeCursor,
  FormatQuery,
  keysetPage,
  listOf,
  PageQuery,
  RangeQuery,
  resolveRange,
  SalesFiltersQuery,
  toIso,
  toNumber,
} from '../schemas.ts';

const FactSale = z.object({
  event_id: z.string(),
  transaction_id: z.string(),
  line_number: z.number().int(),
  user_id: z.string(),
  product_id: z.string(),
  category: z.string(),
  country: z.string(),
  customer_segment: z.string(),
  quantity: z.number().int(),
  unit_price: z.number(),
  total_amount: z.number(),
  currency: z.string(),
  payment_method: z.string(),
  transaction_timestamp: z.string(),
  ingested_at: z.string(),
});

/** Keyset: (transaction_timestamp, event_id) of the last row sent. */
const FactCursor = z.object({ t: z.string(), e: z.string() });

export const factsRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/facts/sales',
    {
      schema: {
        tags: ['warehouse'],
        summary: 'fact_sales, one row per transaction line, with its dimensions; filtered and paginated',
        querystring: RangeQuery.extend(SalesFiltersQuery.shape)
          .extend(PageQuery.shape)
          .extend(FormatQuery.shape)
          .extend({
            segment: z.string().min(1).max(100).optional().describe("the customer's segment at the time of the order"),
            sort: z.enum(['transaction_timestamp', '-transaction_timestamp']).default('transaction_timestamp'),
          }),
        response: { 200: listOf(FactSale, 'FactSales'), 400: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const range = resolveRange(q);
      const after = decodeCursor(q.cursor, FactCursor);
      const descending = q.sort === '-transaction_timestamp';
      const compare = descending ? '<' : '>';
      const body = await app.dbs.warehouse.snapshot(async (wh) => {
        const batchUntil = await readFactsWatermark(wh);
        const { rows } = await wh.query<Record<string, unknown>>(
          `select f.event_id, f.transaction_id::text as transaction_id, f.line_number, f.user_id, f.product_id, p.category, g.country,
                  c.customer_segment, f.quantity, f.unit_price::text as unit_price, f.total_amount::text as total_amount,
                  f.currency, f.payment_method, f.transaction_timestamp, f.ingested_at
           from fact_sales f
           join dim_products p on p.product_id_pk = f.product_id_pk
           join dim_geography g on g.geography_id = f.geography_id
           join dim_customers c on c.customer_id = f.customer_id
           where f.event_date >= $1::date and f.event_date <= $2::date and f.transaction_timestamp >= $3 and f.transaction_timestamp < $4
             and ($5::text is null or g.country = $5) and ($6::text is null or p.category = $6) and ($7::text is null or f.product_id = $7)
             and ($8::text is null or c.customer_segment = $8)
             and ($9::timestamptz is null or (f.transaction_timestamp, f.event_id) ${compare} ($9::timestamptz, $10::text))
           order by f.transaction_timestamp ${descending ? 'desc' : 'asc'}, f.event_id ${descending ? 'desc' : 'asc'}
           limit $11`,
          [
            range.from.toISOString().slice(0, 10),
            new Date(range.to.getTime() - 1).toISOString().slice(0, 10),
            range.from,
            range.to,
            q.country ?? null,
            q.category ?? null,
            q.product_id ?? null,
            q.segment ?? null,
            after?.t ?? null,
            after?.e ?? null,
            q.limit + 1,
          ],
        );
        const lines = rows.map((r) => ({
          event_id: String(r.event_id),
          transaction_id: String(r.transaction_id),
          line_number: Number(r.line_number),
          user_id: String(r.user_id),
          product_id: String(r.product_id),
          category: String(r.category),
          country: String(r.country),
          customer_segment: String(r.customer_segment),
          quantity: Number(r.quantity),
          unit_price: toNumber(r.unit_price),
          total_amount: toNumber(r.total_amount),
          currency: String(r.currency),
          payment_method: String(r.payment_method),
          transaction_timestamp: toIso(r.transaction_timestamp as Date) ?? '',
          ingested_at: toIso(r.ingested_at as Date) ?? '',
        }));
        return {
          ...batchInfo(batchUntil),
          ...keysetPage(lines, q.limit, (last) => ({ t: last.transaction_timestamp, e: last.event_id })),
        };
      });
      // Pulled page by page, rarely twice: not worth the cache's memory.
      return sendAnswer(request, reply, { body, maxAgeSeconds: 60, rows: () => body.data });
    },
  );
};
