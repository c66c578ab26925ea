/**
 * The batch side of /kpis and /sales from sales_daily (warehouse migration 0012) instead of the
 * fact lines: figures per UTC day, per day and country, and each day's customers as a bit string
 * (bit k: the customer numbered k in sales_customer_keys), so the customers of a range are
 * bit_count(bit_or(...)), exact.
 *
 * It answers when (1) the facts job refreshed it for the facts of the snapshot being read
 * (sales_daily_state holds that snapshot's facts watermark: a run publishes both in one
 * transaction), (2) every range is whole UTC days (ISO dates in from/to), and (3) the only
 * filter or split is the country. Otherwise the routes read the lines, as before: category and
 * segment are not in the aggregate (see the migration for why), nor are hours.
 */
import type { PoolClient } from '@lambdamart/core';
import { type LineFilters, param, utcDate } from './sales-sql.ts';
import type { TimeRange } from './schemas.ts';

const dayMs = 86_400_000;

/** Whether every range starts and ends at a UTC midnight. */
export const wholeDays = (...ranges: TimeRange[]): boolean =>
  ranges.every((r) => r.from.getTime() % dayMs === 0 && r.to.getTime() % dayMs === 0);

/** Whether the aggregate holds what these filters and this split ask for. */
export const aggregateAnswers = (filters: LineFilters, splitBy?: string): boolean =>
  !filters.category && !filters.product_id && !filters.segment && (splitBy === undefined || splitBy === 'country');

/** Whether sales_daily describes the facts of this snapshot, whose facts watermark is `batchUntil`. */
export async function salesDailyIsCurrent(wh: PoolClient, batchUntil: Date | null): Promise<boolean> {
  const { rows } = await wh.query('select 1 from sales_daily_state where facts_watermark is not distinct from $1::timestamptz', [
    batchUntil,
  ]);
  return rows.length === 1;
}

/** The cells of `range` for a country filter and split: the day totals, one country's, or each country's. */
function cellsWhere(range: TimeRange, country: string | undefined, splitByCountry: boolean, values: unknown[]): string {
  const where = [`event_date >= ${param(values, utcDate(range.from))}::date`, `event_date < ${param(values, utcDate(range.to))}::date`];
  if (country) where.push(`country = ${param(values, country)}`);
  else if (splitByCountry) where.push('country is not null');
  else where.push('country is null');
  return where.join(' and ');
}

/**
 * The /kpis figures of `span` from the aggregate, as kpis.ts's line query names them:
 * `<period>_revenue|orders|units|customers`, the current period from `cut` (a UTC midnight) on.
 */
export function kpiAggregateSql(span: TimeRange, cut: Date, country: string | undefined, values: unknown[]): string {
  const where = cellsWhere(span, country, false, values);
  const at = param(values, utcDate(cut));
  const agg = (period: 'current' | 'previous') => {
    const test = period === 'current' ? `event_date >= ${at}::date` : `event_date < ${at}::date`;
    return `coalesce(sum(revenue) filter (where ${test}), 0)::text as ${period}_revenue,
            coalesce(sum(orders) filter (where ${test}), 0)::bigint as ${period}_orders,
            coalesce(sum(units) filter (where ${test}), 0)::bigint as ${period}_units,
            coalesce(bit_count(bit_or(customers) filter (where ${test})), 0)::bigint as ${period}_customers`;
  };
  return `select ${agg('current')}, ${agg('previous')} from sales_daily where ${where}`;
}

/**
 * How many of the speed side's customers of each period the aggregate counts too
 * (`current_shared`, `previous_shared`): a customer on both sides counts once.
 */
export function sharedCustomersAggregateSql(
  span: TimeRange,
  cut: Date,
  country: string | undefined,
  users: { current: string[]; previous: string[] },
  values: unknown[],
): string {
  const where = cellsWhere(span, country, false, values);
  const at = param(values, utcDate(cut));
  const shared = (period: 'current' | 'previous') =>
    `(select count(*) from sales_customer_keys k
      where k.user_id = any(${param(values, users[period])}::text[]) and get_bit(days.${period}, k.customer_key) = 1)::bigint as ${period}_shared`;
  return `with days as (
            select bit_or(customers) filter (where event_date >= ${at}::date) as current,
                   bit_or(customers) filter (where event_date < ${at}::date) as previous
            from sales_daily where ${where})
          select ${shared('current')}, ${shared('previous')} from days`;
}

/** The /sales series of `range` from the aggregate, in sales.ts's row shape (period, grp, revenue, orders, units). */
export function seriesAggregateSql(
  range: TimeRange,
  interval: string,
  country: string | undefined,
  splitByCountry: boolean,
  values: unknown[],
) {
  const where = cellsWhere(range, country, splitByCountry, values);
  return `select date_trunc(${param(values, interval)}, event_date::timestamp) at time zone 'UTC' as period,
                 ${splitByCountry ? 'country' : 'null::text'} as grp,
                 sum(revenue)::text as revenue, sum(orders)::bigint as orders, sum(units)::bigint as units
          from sales_daily where ${where}
          group by 1, 2`;
}
