/**
 * The warehouse facts as the dashboards read them, filtered by the time range and the
 * dashboard's variables. Revenue has one definition everywhere: the sum of `fact_sales.total_amount`
 * (a line's quantity x unit price) over the lines kept here, so any breakdown of these lines adds
 * up to the KPI. A line's category is the one of the product version it sold; its country is the
 * order's.
 */
import { inSegments, keyIn } from './filters.ts';

/** The sum that is revenue, over a set of sales lines whose line amount is `revenue`. */
export const revenue = 'sum(revenue)';

/** The range start, end and the same length before the start, as timestamptz expressions. */
export const rangeFrom = '$__timeFrom()::timestamptz';
export const rangeTo = '$__timeTo()::timestamptz';
export const previousFrom = `(${rangeFrom} - (${rangeTo} - ${rangeFrom}))`;

/** The UTC day of a timestamptz expression: the facts' event_date, which their monthly partitions are on. */
const utcDay = (timestamp: string) => `(${timestamp} at time zone 'UTC')::date`;

interface FactFilter {
  /** The fact's alias; it has geography_id, product_id_pk, user_id and event_date. */
  alias: string;
  timeColumn: string;
  /** Include the previous period too (for the KPIs' change). */
  withPrevious?: boolean;
}

/**
 * The time range (pruning the monthly partitions by event_date) and the three filters. The facts
 * join their dimensions with left joins on unique keys (every fact has one, -1 the unknown
 * member), so a query that reads no dimension column does not join at all.
 */
export function factWhere({ alias, timeColumn, withPrevious }: FactFilter): string {
  const time = withPrevious
    ? `${alias}.${timeColumn} between ${previousFrom} and ${rangeTo}
      and ${alias}.event_date between ${utcDay(previousFrom)} and ${utcDay(rangeTo)}`
    : `$__timeFilter(${alias}.${timeColumn})
      and ${alias}.event_date between ${utcDay(rangeFrom)} and ${utcDay(rangeTo)}`;
  return `${time}
      and ${keyIn('country', `${alias}.geography_id`)}
      and ${keyIn('category', `${alias}.product_id_pk`)}
      and ${inSegments(`${alias}.user_id`)}`;
}

/** CTE `sales`: one row per sales line in range, with its revenue, country and category. */
export function salesLines(withPrevious = false): string {
  return `sales as (
    select f.transaction_id, f.user_id, f.product_id, f.quantity, f.total_amount as revenue,
           f.transaction_timestamp, f.event_date, coalesce(g.country, 'Unknown') as country, coalesce(p.category, 'Unknown') as category
    from fact_sales f
    left join dim_geography g on g.geography_id = f.geography_id
    left join dim_products p on p.product_id_pk = f.product_id_pk
    where ${factWhere({ alias: 'f', timeColumn: 'transaction_timestamp', withPrevious })}
)`;
}

/** CTE `views`: one row per product view in range. */
export function productViews(): string {
  return eventRows('views', 'fact_product_views', 'v');
}

/** CTE `cart_adds`: one row per add-to-cart in range. */
export function cartAdds(): string {
  return eventRows('cart_adds', 'fact_cart_events', 'c', "c.event_type = 'add'");
}

/** A CTE of one fact table's events in range, with their country and category. */
function eventRows(name: string, fact: string, alias: string, only?: string): string {
  const a = alias;
  return `${name} as (
    select ${a}.product_id, ${a}.event_timestamp, ${a}.event_date, coalesce(g.country, 'Unknown') as country, coalesce(p.category, 'Unknown') as category
    from ${fact} ${a}
    left join dim_geography g on g.geography_id = ${a}.geography_id
    left join dim_products p on p.product_id_pk = ${a}.product_id_pk
    where ${only ? `${only}\n      and ` : ''}${factWhere({ alias: a, timeColumn: 'event_timestamp' })}
)`;
}

/** The start (UTC midnight) of a fact's event_date, for daily series: group by the date first, bucket the few days after. */
export const dayStart = "(event_date::timestamp at time zone 'UTC')";

export interface KpiMeasure {
  /** Group the lines by this first (per period), summing their revenue: orders or customers. */
  grain?: 'transaction_id' | 'user_id';
  /** The aggregate over the lines (or over the grain's rows, which carry `revenue`). */
  measure: string;
}

/**
 * A KPI over the sales lines: two rows, the previous period then the current one (`time` is the
 * period's start), `measure` computed over each. The current period is the range itself,
 * ends included, as $__timeFilter has it. Distinct counts go through a `grain` (a hash
 * aggregate), which Postgres does far faster than count(distinct ...)'s sort.
 */
export function salesKpi(column: string, { grain, measure }: KpiMeasure): string {
  const period = `case when transaction_timestamp >= ${rangeFrom} then 2 else 1 end`;
  const rows = grain
    ? `(select ${period} as period, ${grain}, sum(revenue) as revenue from sales group by 1, 2) per_${grain}`
    : `(select ${period} as period, revenue from sales) lines`;
  return `with ${salesLines(true)},
periods as (
    select 1 as period, ${previousFrom} as time
    union all
    select 2, ${rangeFrom}
),
measured as (
    select period, ${measure} as ${column}
    from ${rows}
    group by period
)
select p.time, coalesce(m.${column}, 0) as ${column}
from periods p
left join measured m on m.period = p.period
order by p.time`;
}
