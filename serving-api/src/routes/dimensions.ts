/**
 * GET /dimensions/{products|customers|geography}: the dimension rows, SCD2 versions valid at
 * `as_of` (default: the current ones). Keyset-paginated on the natural key.
 */
import type { PoolClient } from '@lambdamart/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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

/** The as-of instant of `as_of` (a date: its midnight UTC; none: null, the current versions). */
const asOfOf = (asOf: string | undefined) => (asOf ? (asOf.length === 10 ? `${asOf}T00:00:00Z` : asOf) : null);

/** dim_products: the versions valid at `as_of` (or the current ones) after `afterKey`, `limit + 1` of them. */
async function readProducts(
  wh: PoolClient,
  q: { as_of?: string; product_id?: string; category?: string; limit: number },
  afterKey: string | null,
) {
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
    [asOfOf(q.as_of), q.product_id ?? null, q.category ?? null, afterKey, q.limit + 1],
  );
  return rows.map((r) => ({
    product_id: r.product_id,
    name: r.name,
    category: r.category,
    price: toNumber(r.price),
    effective_from: instant(r.effective_from),
    effective_to: instant(r.effective_to),
    is_current: r.is_current,
  }));
}

/** dim_customers: the versions valid at `as_of` (or the current ones) after `afterKey`, `limit + 1` of them. */
async function readCustomers(
  wh: PoolClient,
  q: { as_of?: string; user_id?: string; country?: string; segment?: string; limit: number },
  afterKey: string | null,
) {
  const { rows } = await wh.query<Record<string, unknown>>(
    `select user_id, country, customer_segment, first_transaction_date::text as first_transaction_date,
              last_transaction_date::text as last_transaction_date, total_transactions, total_spent::text as total_spent,
              avg_order_value::text as avg_order_value, effective_from, effective_to, is_current
       from dim_customers
       where customer_id <> -1 and ${validAt}
         and ($2::text is null or user_id = $2) and ($3::text is null or country = $3) and ($4::text is null or customer_segment = $4)
         and ($5::text is null or user_id > $5)
       order by user_id limit $6`,
    [asOfOf(q.as_of), q.user_id ?? null, q.country ?? null, q.segment ?? null, afterKey, q.limit + 1],
  );
  return rows.map((r) => ({
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
}

/** dim_geography: the countries after `afterKey`, `limit + 1` of them. */
async function readGeography(wh: PoolClient, q: { country?: string; limit: number }, afterKey: string | null) {
  const { rows } = await wh.query<{ geography_id: number; country: string; region: string }>(
    `select geography_id, country, region from dim_geography
       where geography_id <> -1 and ($1::text is null or country = $1) and ($2::text is null or country > $2)
       order by country limit $3`,
    [q.country ?? null, afterKey, q.limit + 1],
  );
  return rows;
}

/** A dimension route's schema: the as-of, page and format query plus `filters`; a list of `item`. */
const dimensionSchema = <Filters extends z.ZodRawShape, Item extends z.ZodType>(
  summary: string,
  filters: Filters,
  item: Item,
  id: string,
) => ({
  tags: ['warehouse'],
  summary,
  querystring: AsOf.extend(PageQuery.shape).extend(FormatQuery.shape).extend(filters),
  response: { 200: listOf(item, id), 400: ErrorBody, 503: ErrorBody },
});

/**
 * One dimension route's answer: `read` runs in one warehouse snapshot with the key after which the
 * page starts (from the cursor; null: the first page) and returns up to `limit + 1` rows in key order;
 * they become a keyset page on `keyOf`, with the batch watermark, through the cache.
 */
async function sendDimensionPage<Query extends { cursor?: string; limit: number }, Row extends Record<string, unknown>>(
  app: FastifyInstance,
  request: FastifyRequest,
  reply: FastifyReply,
  query: Query,
  read: (wh: PoolClient, query: Query, afterKey: string | null) => Promise<Row[]>,
  keyOf: (row: Row) => string,
): Promise<FastifyReply> {
  const after = decodeCursor(query.cursor, KeyCursor);
  const { value, hit, maxAgeSeconds, entry } = await cachedRead(app, request, false, async () =>
    app.dbs.warehouse.snapshot(async (wh) => {
      const batchUntil = await readFactsWatermark(wh);
      const rows = await read(wh, query, after?.k ?? null);
      return { ...batchInfo(batchUntil), ...keysetPage(rows, query.limit, (last) => ({ k: keyOf(last) })) };
    }),
  );
  return sendAnswer(request, reply, { body: value, maxAgeSeconds, cacheHit: hit, entry, rows: () => value.data });
}

export const dimensionsRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/dimensions/products',
    {
      schema: dimensionSchema(
        'dim_products: the SCD2 version of each product valid at as_of (default current)',
        { product_id: z.string().min(1).max(100).optional(), category: z.string().min(1).max(100).optional() },
        Product,
        'DimProducts',
      ),
    },
    async (request, reply) => sendDimensionPage(app, request, reply, request.query, readProducts, (row) => row.product_id),
  );

  app.get(
    '/dimensions/customers',
    {
      schema: dimensionSchema(
        'dim_customers: the SCD2 version of each customer valid at as_of (default current)',
        {
          user_id: z.string().min(1).max(100).optional(),
          country: z.string().min(1).max(100).optional(),
          segment: z.string().min(1).max(100).optional(),
        },
        Customer,
        'DimCustomers',
      ),
    },
    async (request, reply) => sendDimensionPage(app, request, reply, request.query, readCustomers, (row) => row.user_id),
  );

  app.get(
    '/dimensions/geography',
    {
      schema: dimensionSchema(
        'dim_geography: countries and regions (type 1: no versions, as_of is accepted and changes nothing)',
        { country: z.string().min(1).max(100).optional() },
        Geography,
        'DimGeography',
      ),
    },
    async (request, reply) => sendDimensionPage(app, request, reply, request.query, readGeography, (row) => row.country),
  );
};
