/** GET /api/v1/kpis: revenue, orders, average order value, customers, units; and the previous period. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorBody } from '../errors.ts';
import { readMerged } from '../merge.ts';
import { cachedRead } from '../read.ts';
import { sendAnswer } from '../respond.ts';
import { batchLinesSql, cents, fromCents, type LineFilters, lineLevel, ordersSql, speedLinesSql } from '../sales-sql.ts';
import { FormatQuery, MergeInfo, RangeQuery, resolveRange, SalesFiltersQuery, SourceQuery, type TimeRange } from '../schemas.ts';

const Figures = z.object({
  from: z.string(),
  to: z.string(),
  revenue: z.number(),
  orders: z.number().int(),
  average_order_value: z.number().nullable(),
  customers: z.number().int(),
  units: z.number().int(),
});

const KpisResponse = MergeInfo.extend({ current: Figures, previous: Figures }).meta({ id: 'Kpis' });

interface SideFigures {
  revenueCents: number;
  orders: number;
  units: number;
  customers: number;
}

interface SpeedSide {
  current: SideFigures & { users: string[] };
  previous: SideFigures & { users: string[] };
}

const empty = (): SideFigures & { users: string[] } => ({ revenueCents: 0, orders: 0, units: 0, customers: 0, users: [] });

/** Aggregates of `lines` for the current period (ts >= $cut) and the previous one. */
function kpiSql(lines: string, cut: string, filters: LineFilters, exclude?: { current: string; previous: string }): string {
  const agg = (period: 'current' | 'previous') => {
    const test = period === 'current' ? `ts >= ${cut}` : `ts < ${cut}`;
    const customers = exclude
      ? `count(distinct user_id) filter (where ${test} and user_id <> all(${exclude[period]}::text[]))`
      : `count(distinct user_id) filter (where ${test})`;
    return `coalesce(sum(revenue) filter (where ${test}), 0)::text as ${period}_revenue,
            ${ordersSql(lineLevel(filters), test)} as ${period}_orders,
            coalesce(sum(quantity) filter (where ${test}), 0)::bigint as ${period}_units,
            ${customers} as ${period}_customers`;
  };
  const columns = [agg('current'), agg('previous')];
  // The speed side returns its customers, so the batch side can leave them out (counted once).
  if (!exclude) {
    columns.push(`coalesce(array_agg(distinct user_id) filter (where ts >= ${cut}), '{}') as current_users`);
    columns.push(`coalesce(array_agg(distinct user_id) filter (where ts < ${cut}), '{}') as previous_users`);
  }
  return `with lines as (${lines}) select ${columns.join(', ')} from lines`;
}

type KpiRow = Record<string, unknown>;

function sideOf(row: KpiRow | null | undefined, period: 'current' | 'previous'): SideFigures & { users: string[] } {
  if (!row) return empty();
  return {
    revenueCents: cents(row[`${period}_revenue`]),
    orders: Number(row[`${period}_orders`] ?? 0),
    units: Number(row[`${period}_units`] ?? 0),
    customers: Number(row[`${period}_customers`] ?? 0),
    users: (row[`${period}_users`] as string[] | undefined) ?? [],
  };
}

function figures(range: TimeRange, sides: SideFigures[]) {
  const revenue = sides.reduce((s, x) => s + x.revenueCents, 0);
  const orders = sides.reduce((s, x) => s + x.orders, 0);
  return {
    from: range.from.toISOString(),
    to: range.to.toISOString(),
    revenue: fromCents(revenue),
    orders,
    average_order_value: orders ? fromCents(revenue / orders) : null,
    customers: sides.reduce((s, x) => s + x.customers, 0),
    units: sides.reduce((s, x) => s + x.units, 0),
  };
}

export const kpisRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/kpis',
    {
      schema: {
        tags: ['sales'],
        summary: 'Revenue, orders, average order value, customers and units, with the previous period of equal length',
        description:
          'Merged "as of now": the warehouse facts plus the realtime orders the warehouse does not hold yet. A customer who ordered on both sides counts once.',
        querystring: RangeQuery.extend(SalesFiltersQuery.shape).extend(SourceQuery.shape).extend(FormatQuery.shape),
        response: { 200: KpisResponse, 400: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const query = request.query;
      const current = resolveRange(query);
      const previous = { from: new Date(2 * current.from.getTime() - current.to.getTime()), to: current.from };
      const span = { from: previous.from, to: current.to };
      const filters: LineFilters = {
        country: query.country,
        category: query.category,
        product_id: query.product_id,
        segment: query.segment,
      };
      const source = query.source ?? 'merged';
      const { value, hit, maxAgeSeconds, entry } = await cachedRead(app, request, source !== 'batch', async () => {
        const result = await readMerged<KpiRow | undefined, KpiRow | undefined>(
          app.dbs,
          source,
          span,
          {
            speed: async (rt, split) => {
              const values: unknown[] = [];
              const lines = speedLinesSql(split, span, filters, values);
              values.push(current.from);
              return (await rt.query(kpiSql(lines, `$${values.length}`, filters), values)).rows[0];
            },
            batch: async (wh, _split, speed) => {
              const values: unknown[] = [];
              const lines = batchLinesSql(span, filters, values);
              values.push(current.from, sideOf(speed, 'current').users, sideOf(speed, 'previous').users);
              const n = values.length;
              return (await wh.query(kpiSql(lines, `$${n - 2}`, filters, { current: `$${n - 1}`, previous: `$${n}` }), values)).rows[0];
            },
          },
          { segment: query.segment },
        );
        const speed: SpeedSide = { current: sideOf(result.speed, 'current'), previous: sideOf(result.speed, 'previous') };
        // The batch side counted only customers not already among the speed side's.
        const speedCustomers = (side: SideFigures & { users: string[] }) => ({ ...side, customers: side.users.length });
        const batchSides = result.batch ? [sideOf(result.batch, 'current'), sideOf(result.batch, 'previous')] : [empty(), empty()];
        return {
          source: result.split.source,
          batch_until: result.split.batchUntil?.toISOString() ?? null,
          as_of: new Date().toISOString(),
          current: figures(current, [batchSides[0] ?? empty(), speedCustomers(speed.current)]),
          previous: figures(previous, [batchSides[1] ?? empty(), speedCustomers(speed.previous)]),
        };
      });
      return sendAnswer(request, reply, {
        body: value,
        maxAgeSeconds,
        cacheHit: hit,
        entry,
        rows: () =>
          (['current', 'previous'] as const).map((period) => ({
            period,
            ...value[period],
            source: value.source,
            batch_until: value.batch_until,
          })),
      });
    },
  );
};
