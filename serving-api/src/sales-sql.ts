/**
 * The line-grain sales of each side as one SQL shape, `lines(transaction_id, user_id, country,
 * category, product_id, quantity, revenue, ts)`, so /kpis and /sales aggregate both sides alike.
 * Category is the product's version valid at the order's instant on both sides (dim_products
 * SCD2 in the warehouse; the newest catalog record not after the order in realtime), as the
 * facts job assigns it. Every value is a bound parameter.
 */
import { type MergeSplit, speedFilterSql } from './merge.ts';
import type { TimeRange } from './schemas.ts';

export interface LineFilters {
  country?: string;
  category?: string;
  product_id?: string;
  /** The customer's segment (batch: the version valid at the order; speed: see merge.ts). */
  segment?: string;
}

/** Which dimension columns the caller reads (a split); a filter on one needs it too. */
export interface LineColumns {
  country?: boolean;
  category?: boolean;
}

/** The UTC date of `at`, as an ISO string. */
export const utcDate = (at: Date) => at.toISOString().slice(0, 10);

/** Appends `value` to the query's values and returns its placeholder. */
export function param(values: unknown[], value: unknown): string {
  values.push(value);
  return `$${values.length}`;
}

/**
 * The warehouse's lines in `range` (partition pruning on event_date, then the exact instants).
 * A dimension is joined only when a filter or the caller needs its column: over a year of facts,
 * the joins cost more than the scan.
 */
export function batchLinesSql(range: TimeRange, filters: LineFilters, values: unknown[], columns: LineColumns = {}): string {
  const country = Boolean(columns.country || filters.country);
  const category = Boolean(columns.category || filters.category);
  const where = [
    `f.event_date >= ${param(values, utcDate(range.from))}::date`,
    `f.event_date <= ${param(values, utcDate(new Date(range.to.getTime() - 1)))}::date`,
    `f.transaction_timestamp >= ${param(values, range.from)}`,
    `f.transaction_timestamp < ${param(values, range.to)}`,
  ];
  if (filters.country) where.push(`g.country = ${param(values, filters.country)}`);
  if (filters.category) where.push(`p.category = ${param(values, filters.category)}`);
  if (filters.product_id) where.push(`f.product_id = ${param(values, filters.product_id)}`);
  if (filters.segment) where.push(`c.customer_segment = ${param(values, filters.segment)}`);
  return `select f.transaction_id, f.line_number, f.user_id, ${country ? 'g.country' : 'null::text as country'},
                 ${category ? 'p.category' : 'null::text as category'}, f.product_id, f.quantity,
                 f.total_amount as revenue, f.transaction_timestamp as ts
          from fact_sales f
          ${country ? 'join dim_geography g on g.geography_id = f.geography_id' : ''}
          ${category ? 'join dim_products p on p.product_id_pk = f.product_id_pk' : ''}
          ${filters.segment ? 'join dim_customers c on c.customer_id = f.customer_id' : ''}
          where ${where.join(' and ')}`;
}

/** The realtime lines in `range` that the speed side counts (see merge.ts). */
export function speedLinesSql(
  split: MergeSplit,
  range: TimeRange,
  filters: LineFilters,
  values: unknown[],
  columns: LineColumns = {},
): string {
  const category = Boolean(columns.category || filters.category);
  const where = [
    speedFilterSql(split, values),
    `t.transaction_timestamp >= ${param(values, range.from)}`,
    `t.transaction_timestamp < ${param(values, range.to)}`,
  ];
  if (filters.country) where.push(`t.country = ${param(values, filters.country)}`);
  if (filters.category) where.push(`coalesce(c.category, 'Unknown') = ${param(values, filters.category)}`);
  if (filters.product_id) where.push(`i.product_id = ${param(values, filters.product_id)}`);
  return `select t.transaction_id, i.line_number, t.user_id, t.country, ${category ? "coalesce(c.category, 'Unknown')" : 'null::text'} as category,
                 i.product_id, i.quantity, cast(i.quantity * i.price as numeric(14, 2)) as revenue, t.transaction_timestamp as ts
          from transactions t
          -- offset 0: each order's lines by the primary key (a few thousand orders since the
          -- watermark), where the planner otherwise hash-joins a scan of every line (5M events: 1.26M)
          cross join lateral (select * from transaction_items i where i.transaction_id = t.transaction_id offset 0) i
          ${
            category
              ? `left join lateral (
                   select pc.category from product_catalog_events pc
                   where pc.product_id = i.product_id and pc.updated_at <= t.transaction_timestamp
                   order by pc.updated_at desc limit 1
                 ) c on true`
              : ''
          }
          where ${where.join(' and ')}`;
}

/**
 * How to count orders in `lines`: every transaction has exactly one line 1, so when the lines
 * kept or grouped are whole transactions, counting line 1 is exact, and far cheaper than a
 * distinct count. `lineLevel`: a filter or a split by category or product keeps part of an order.
 */
export function ordersSql(lineLevel: boolean, condition: string): string {
  return lineLevel
    ? `count(distinct transaction_id) filter (where ${condition})`
    : `count(*) filter (where ${condition} and line_number = 1)`;
}

export const lineLevel = (filters: LineFilters, splitBy?: string) =>
  Boolean(filters.category || filters.product_id || splitBy === 'category');

/** Exact money: numeric text -> integer cents. */
export const cents = (value: unknown): number => Math.round(Number(value ?? 0) * 100);
export const fromCents = (value: number): number => Math.round(value) / 100;
