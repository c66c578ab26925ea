/** GET /api/v1/kpis: revenue, orders, average order value, customers, units; and the previous period. */
import type { PoolClient } from '@lambdamart/core';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorBody } from '../errors.ts';
import { readMerged } from '../merge.ts';
import { batchSideCache, cachedRead } from '../read.ts';
import { sendAnswer } from '../respond.ts';
import { aggregateAnswers, kpiAggregateSql, salesDailyIsCurrent, sharedCustomersAggregateSql, wholeDays } from '../sales-daily.ts';
import { batchLinesSql, cents, fromCents, type LineFilters, lineLevel, ordersSql, speedLinesSql } from '../sales-sql.ts';
import { FormatQuery, MergeInfo, RangeQuery, resolveRange, SalesFiltersQuery, SourceQuery, type TimeRange } from '../schemas.ts';
import { lineFiltersOf } from './line-filters.ts';

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

const empty = (): SideFigures & { users: string[] } => ({ revenueCents: 0, orders: 0, units: 0, customers: 0, users: [] });

/** Aggregates of `lines` for the current period (ts >= $cut) and the previous one; the speed side also lists its customers. */
function kpiSql(lines: string, cut: string, filters: LineFilters, withUsers: boolean): string {
  const agg = (period: 'current' | 'previous') => {
    const test = period === 'current' ? `ts >= ${cut}` : `ts < ${cut}`;
    // With the customers listed (the speed side), their count is the list's length: no second distinct sort.
    const customers = withUsers ? '' : `, count(distinct user_id) filter (where ${test}) as ${period}_customers`;
    return `coalesce(sum(revenue) filter (where ${test}), 0)::text as ${period}_revenue,
            ${ordersSql(lineLevel(filters), test)} as ${period}_orders,
            coalesce(sum(quantity) filter (where ${test}), 0)::bigint as ${period}_units${customers}`;
  };
  const columns = [agg('current'), agg('previous')];
  if (withUsers) {
    columns.push(`coalesce(array_agg(distinct user_id) filter (where ts >= ${cut}), '{}') as current_users`);
    columns.push(`coalesce(array_agg(distinct user_id) filter (where ts < ${cut}), '{}') as previous_users`);
  }
  return `with lines as (${lines}) select ${columns.join(', ')} from lines`;
}

/** How many of the speed side's customers of each period the batch side's lines count too. */
function sharedCustomersSql(lines: string, cut: string, users: { current: string; previous: string }): string {
  return `with lines as (${lines})
          select count(distinct user_id) filter (where ts >= ${cut} and user_id = any(${users.current}::text[])) as current_shared,
                 count(distinct user_id) filter (where ts < ${cut} and user_id = any(${users.previous}::text[])) as previous_shared
          from lines where user_id = any(${users.current}::text[] || ${users.previous}::text[])`;
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
      const filters = lineFiltersOf(query);
      const source = query.source ?? 'merged';
      // The batch side from the daily aggregate when it can answer (see sales-daily.ts), else from the lines.
      const fromAggregate = aggregateAnswers(filters) && wholeDays(current, previous);
      const useAggregate = async (wh: PoolClient, batchUntil: Date | null) => fromAggregate && (await salesDailyIsCurrent(wh, batchUntil));
      const { value, hit, maxAgeSeconds, entry } = await cachedRead(app, request, source !== 'batch', async () => {
        const result = await readMerged<KpiRow | undefined, KpiRow | undefined, KpiRow | undefined>(
          app.dbs,
          source,
          span,
          {
            batch: async (wh, split) => {
              const values: unknown[] = [];
              if (await useAggregate(wh, split.batchUntil)) {
                return (await wh.query(kpiAggregateSql(span, current.from, filters.country, values), values)).rows[0];
              }
              const lines = batchLinesSql(span, filters, values);
              values.push(current.from);
              return (await wh.query(kpiSql(lines, `$${values.length}`, filters, false), values)).rows[0];
            },
            speed: async (rt, split) => {
              const values: unknown[] = [];
              const lines = speedLinesSql(split, span, filters, values);
              values.push(current.from);
              return (await rt.query(kpiSql(lines, `$${values.length}`, filters, true), values)).rows[0];
            },
            join: async (wh, split, speed) => {
              const users = { current: sideOf(speed, 'current').users, previous: sideOf(speed, 'previous').users };
              if (users.current.length + users.previous.length === 0) return undefined;
              const values: unknown[] = [];
              if (await useAggregate(wh, split.batchUntil)) {
                return (await wh.query(sharedCustomersAggregateSql(span, current.from, filters.country, users, values), values)).rows[0];
              }
              const lines = batchLinesSql(span, filters, values);
              values.push(current.from, users.current, users.previous);
              const n = values.length;
              return (await wh.query(sharedCustomersSql(lines, `$${n - 2}`, { current: `$${n - 1}`, previous: `$${n}` }), values)).rows[0];
            },
          },
          { segment: query.segment, batchCache: batchSideCache(app, request) },
        );
        // A customer on both sides counts once: the batch side's, plus the speed side's the batch side does not count.
        const merged = (period: 'current' | 'previous') => {
          const batch = result.batch ? sideOf(result.batch, period) : empty();
          const speed = sideOf(result.speed, period);
          const shared = Number(result.joined?.[`${period}_shared`] ?? 0);
          return [batch, { ...speed, customers: speed.users.length - shared }];
        };
        return {
          source: result.split.source,
          batch_until: result.split.batchUntil?.toISOString() ?? null,
          as_of: new Date().toISOString(),
          current: figures(current, merged('current')),
          previous: figures(previous, merged('previous')),
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
