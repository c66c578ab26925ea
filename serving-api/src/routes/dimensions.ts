/**
 * GET /dimensions/{products|customers|geography}: the dimension rows, SCD2 versions valid at
 * `as_of` (default: the current ones). Keyset-paginated on the natural key.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorBody } from '../errors.ts';
import { readFactsWatermark } from '../merge.ts';
import { cachedRead } from '../read.ts';
import { sendAnswer } from '../respond.ts';
import { batchInfo, decodeCursor, FormatQuery, keysetPage, listOf, PageQuery, toIso, toNumber } from '../schemas.ts';

const AsOf = z.object({
  as_of: z.iso
    .datetime({ offset: true })
    .or(z.iso.date())
    .optional()
    .describe('the moment whose SCD2 versions to return (ISO timestamp or date); default: the current versions'),
});

const Product = z.object({
  product_id: z.string(),
  name: z.string(),
  category: z.string(),
  price: z.number(),
  effective_from: z.string().nullable(),
  effective_to: z.string().nullable(),
  is_current: z.boolean(),
});

const Customer = z.object({
  user_id: z.string(),
  country: z.string(),
  customer_segment: z.string(),
  first_transaction_date: z.string().nullable(),
  last_transaction_date: z.string().nullable(),
  total_transactions: z.number().int(),
  total_spent: z.number(),
  avg_order_value: z.number(),
  effective_from: z.string().nullable(),
  effective_to: z.string().nullable(),
  is_current: z.boolean(),
});

const Geography = z.object({ geography_id: z.number().int(), country: z.string(), region: z.string() });

const KeyCursor = z.object({ k: z.string() });

/** `-infinity` (the unknown members' start) is no ISO instant: null. */
const instant = (value: Date | string | null) => (value instanceof Date && !Number.isNaN(value.getTime()) ? toIso(value) : null);

/** Versions valid at `as_of`, or the current ones. `$1` is the as-of instant (null: current). */
const validAt = `(case when $1::timestamptz is null then is_current
                  else effective_from <= $1::timestamptz and (effective_to is null or effective_to > $1::timestamptz) end)`;

export const dimensionsRoutes: FastifyPluginAsyncZod = async (app) => {
  const asOfOf = (asOf: string | undefined) => (asOf ? (asOf.length === 10 ? `${asOf}T00:00:00Z` : asOf) : null);

  app.get(
    '/dimensions/products',
    {
      schema: {
        tags: ['warehouse'],
        summary: 'dim_products: the SCD2 version of each product valid at as_of (default current)',
        querystring: AsOf.extend(PageQuery.shape)
          .extend(FormatQuery.shape)
          .extend({ product_id: z.string().min(1).max(100).optional(), category: z.string().min(1).max(100).optional() }),
        response: { 200: listOf(Product, 'DimProducts'), 400: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const after = decodeCursor(q.cursor, KeyCursor);
      const { value, hit, maxAgeSeconds, entry } = await cachedRead(app, request, false, async () =>
        app.dbs.warehouse.snapshot(async (wh) => {
          const batchUntil = await readFactsWatermark(wh);
          const { rows } = await wh.query<{
            product_id: string;
            name: string;
            category: string;
            price: string;
            effective_from: Date;
            effective_to: Date | null;
            is_current: boolean;
          }>(
            `select product_id, name, category, price::text as price, effective_from, effective_to, is_current from dim_products
             where product_id_pk <> -1 and ${validAt}
               and ($2::text is null or product_id = $2) and ($3::text is null or category = $3) and ($4::text is null or product_id > $4)
             order by product_id limit $5`,
            [asOfOf(q.as_of), q.product_id ?? null, q.category ?? null, after?.k ?? null, q.limit + 1],
          );
          const products = rows.map((r) => ({
            product_id: r.product_id,
            name: r.name,
            category: r.category,
            price: toNumber(r.price),
            effective_from: instant(r.effective_from),
            effective_to: instant(r.effective_to),
            is_current: r.is_current,
          }));
          return { ...batchInfo(batchUntil), ...keysetPage(products, q.limit, (last) => ({ k: last.product_id })) };
        }),
      );
      return sendAnswer(request, reply, { body: value, maxAgeSeconds, cacheHit: hit, entry, rows: () => value.data });
    },
  );

  app.get(
    '/dimensions/customers',
    {
      schema: {
        tags: ['warehouse'],
        summary: 'dim_customers: the SCD2 version of each customer valid at as_of (default current)',
        querystring: AsOf.extend(PageQuery.shape)
          .extend(FormatQuery.shape)
          .extend({
            user_id: z.string().min(1).max(100).optional(),
            country: z.string().min(1).max(100).optional(),
            segment: z.string().min(1).max(100).optional(),
          }),
        response: { 200: listOf(Customer, 'DimCustomers'), 400: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const after = decodeCursor(q.cursor, KeyCursor);
      const { value, hit, maxAgeSeconds, entry } = await cachedRead(app, request, false, async () =>
        app.dbs.warehouse.snapshot(async (wh) => {
          const batchUntil = await readFactsWatermark(wh);
          const { rows } = await wh.query<Record<string, unknown>>(
            `select user_id, country, customer_segment, first_transaction_date::text as first_transaction_date,
                    last_transaction_date::text as last_transaction_date, total_transactions, total_spent::text as total_spent,
                    avg_order_value::text as avg_order_value, effective_from, effective_to, is_current
             from dim_customers
             where customer_id <> -1 and ${validAt}
               and ($2::text is null or user_id = $2) and ($3::text is null or country = $3) and ($4::text is null or customer_segment = $4)
               and ($5::text is null or user_id > $5)
             order by user_id limit $6`,
            [asOfOf(q.as_of), q.user_id ?? null, q.country ?? null, q.segment ?? null, after?.k ?? null, q.limit + 1],
          );
          const customers = rows.map((r) => ({
            user_id: String(r.user_id),
            country: String(r.country),
            customer_segment: String(r.customer_segment),
            first_transaction_date: (r.first_transaction_date as string | null) ?? null,
            last_transaction_date: (r.last_transaction_date as string | null) ?? null,
            total_transactions: toNumber(r.total_transactions),
            total_spent: toNumber(r.total_spent),
            avg_order_value: toNumber(r.avg_order_value),
            effective_from: instant(r.effective_from as Date),
            effective_to: instant(r.effective_to as Date | null),
            is_current: Boolean(r.is_current),
          }));
          return { ...batchInfo(batchUntil), ...keysetPage(customers, q.limit, (last) => ({ k: last.user_id })) };
        }),
      );
      return sendAnswer(request, reply, { body: value, maxAgeSeconds, cacheHit: hit, entry, rows: () => value.data });
    },
  );

  app.get(
    '/dimensions/geography',
    {
      schema: {
        tags: ['warehouse'],
        summary: 'dim_geography: countries and regions (type 1: no versions, as_of is accepted and changes nothing)',
        querystring: AsOf.extend(PageQuery.shape)
          .extend(FormatQuery.shape)
          .extend({ country: z.string().min(1).max(100).optional() }),
        response: { 200: listOf(Geography, 'DimGeography'), 400: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const after = decodeCursor(q.cursor, KeyCursor);
      const { value, hit, maxAgeSeconds, entry } = await cachedRead(app, request, false, async () =>
        app.dbs.warehouse.snapshot(async (wh) => {
          const batchUntil = await readFactsWatermark(wh);
          const { rows } = await wh.query<{ geography_id: number; country: string; region: string }>(
            `select geography_id, country, region from dim_geography
             where geography_id <> -1 and ($1::text is null or country = $1) and ($2::text is null or country > $2)
             order by country limit $3`,
            [q.country ?? null, after?.k ?? null, q.limit + 1],
          );
          return { ...batchInfo(batchUntil), ...keysetPage(rows, q.limit, (last) => ({ k: last.country })) };
        }),
      );
      return sendAnswer(request, reply, { body: value, maxAgeSeconds, cacheHit: hit, entry, rows: () => value.data });
    },
  );
};
