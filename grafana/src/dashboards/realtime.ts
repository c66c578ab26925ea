/**
 * 5. Real time: the last hour by minute from the realtime database (the speed layer's raw tables,
 * seconds old), and the latest orders. Revenue is the sum of the lines' quantity x price, as in the
 * warehouse. Customer segments live in the warehouse, so only country and category filter here.
 *
 * At the generator's default 200 events/s the last hour holds ~720,000 events, so each query
 * touches its rows once: counts per minute are grouped on date_trunc('minute', ...) first (cheap
 * timestamp arithmetic) and Grafana's $__timeGroup runs on the sixty grouped rows; orders are
 * counted from the lines (a hash aggregate, not count(distinct)'s sort); the latest orders are
 * read newest first on the time index.
 */
import { Board, type BuiltDashboard } from '../board.ts';
import { Datasources } from '../datasources.ts';
import { allValue, anyOf } from '../filters.ts';
import { dataTable, timeSeries, valueStat } from '../panels.ts';
import { SqlQuery } from '../query.ts';
import { lambdamartDashboard } from './common.ts';

const rt = Datasources.realtime;

export const realtimeUid = 'lambdamart-realtime';

/**
 * The product `productColumn` is in a selected category of the current catalog. A key filter
 * (not a joined column) keeps the row estimates sound: Postgres then starts from the last hour's
 * rows on their time index. A product missing from the catalog shows only under All.
 */
const category = (productColumn: string) =>
  `(${allValue} in (\${category:sqlstring}) or ${productColumn} in (select product_id from products where category in (\${category:sqlstring})))`;

/** CTE `lines`: the order lines in range with their revenue and minute. */
const lines = `lines as (
    select t.transaction_id, date_trunc('minute', t.transaction_timestamp) as minute, i.quantity * i.price as revenue
    from transactions t
    join transaction_items i on i.transaction_id = t.transaction_id
    where $__timeFilter(t.transaction_timestamp)
      and ${anyOf('country', 't.country')}
      and ${category('i.product_id')}
)`;

/** CTE `orders` (after `lines`): each order with a line in range and filters, at its minute. */
const orders = `orders as (select transaction_id, min(minute) as minute from lines group by transaction_id)`;

/**
 * CTE `recent_orders`: the orders in range with a line in the selected categories, read newest
 * first on the time index (a query taking the first 50 reads no more).
 */
const recentOrders = `recent_orders as (
    select t.transaction_id, t.transaction_timestamp
    from transactions t
    where $__timeFilter(t.transaction_timestamp)
      and ${anyOf('country', 't.country')}
      and (${allValue} in (\${category:sqlstring}) or exists (
          select 1 from transaction_items i
          where i.transaction_id = t.transaction_id
            and i.product_id in (select product_id from products where category in (\${category:sqlstring}))))
)`;

const views = `views as (
    select date_trunc('minute', v.event_timestamp) as minute
    from product_view_events v
    where $__timeFilter(v.event_timestamp)
      and ${anyOf('country', 'v.country')}
      and ${category('v.product_id')}
)`;

const carts = `carts as (
    select date_trunc('minute', c.event_timestamp) as minute
    from cart_events c
    where c.event_type = 'add'
      and $__timeFilter(c.event_timestamp)
      and ${anyOf('country', 'c.country')}
      and ${category('c.product_id')}
)`;

export function realtime(): BuiltDashboard {
  const board = Board.create(realtimeUid, 'Real time');
  board.builder.description('The last hour, minute by minute, straight from the realtime database the speed layer writes.');
  lambdamartDashboard(board.builder, { from: 'now-1h', refresh: '10s', filters: ['country', 'category'] });

  board
    .row()
    .add(
      6,
      4,
      valueStat('Revenue', rt, 'currencyUSD', 'Sum of the order lines in range.'),
      new SqlQuery(rt, 'table', `with ${lines}\nselect coalesce(sum(revenue), 0) as revenue from lines`).expects('revenue'),
    )
    .add(
      6,
      4,
      valueStat('Orders', rt, 'short', 'Distinct transactions in range.'),
      new SqlQuery(rt, 'table', `with ${lines},\n${orders}\nselect count(*) as orders from orders`).expects('orders'),
    )
    .add(
      6,
      4,
      valueStat('Product views', rt, 'short', 'Views in range.'),
      new SqlQuery(rt, 'table', `with ${views}\nselect count(*) as views from views`).expects('views'),
    )
    .add(
      6,
      4,
      valueStat('Add to cart', rt, 'short', 'Add-to-cart events in range.'),
      new SqlQuery(rt, 'table', `with ${carts}\nselect count(*) as carts from carts`).expects('carts'),
    );

  board
    .row()
    .add(
      12,
      8,
      timeSeries('Revenue per minute', rt, 'currencyUSD', 'Revenue of the orders placed in each minute.'),
      new SqlQuery(
        rt,
        'time_series',
        `with ${lines},
per_minute as (select minute, sum(revenue) as revenue from lines group by minute)
select $__timeGroupAlias(minute, '1m'), sum(revenue) as revenue
from per_minute
group by 1
order by 1`,
      ).expects('revenue'),
    )
    .add(
      12,
      8,
      timeSeries('Orders per minute', rt, 'short', 'Orders placed in each minute.'),
      new SqlQuery(
        rt,
        'time_series',
        `with ${lines},
${orders},
per_minute as (select minute, count(*) as orders from orders group by minute)
select $__timeGroupAlias(minute, '1m'), sum(orders) as orders
from per_minute
group by 1
order by 1`,
      ).expects('orders'),
    );

  board.row().add(
    24,
    8,
    timeSeries('Views and carts per minute', rt, 'short', 'Product views and add-to-cart events in each minute.'),
    new SqlQuery(
      rt,
      'time_series',
      `with ${views},
${carts},
per_minute as (
    select minute, count(*) as views, 0 as carts from views group by minute
    union all
    select minute, 0, count(*) from carts group by minute
)
select $__timeGroupAlias(minute, '1m'), sum(views) as views, sum(carts) as carts
from per_minute
group by 1
order by 1`,
    ).expects('views', 'carts'),
  );

  board.row().add(
    24,
    10,
    dataTable('Latest orders', rt, 'The 50 most recent orders in range (an order shows when one of its lines passes the filters).'),
    new SqlQuery(
      rt,
      'table',
      `with ${recentOrders},
-- Newest first on the time index, stopping at 50: the hour's other orders are never read.
latest as (select transaction_id from recent_orders order by transaction_timestamp desc limit 50)
select t.transaction_timestamp as time, t.transaction_id, t.user_id, t.country, t.payment_method, t.total_amount,
       (select sum(i.quantity * i.price) from transaction_items i
        where i.transaction_id = t.transaction_id and ${category('i.product_id')}) as revenue_in_filter,
       t.ingested_at
from latest l
join transactions t on t.transaction_id = l.transaction_id
order by t.transaction_timestamp desc`,
    ).expects('time', 'transaction_id', 'user_id', 'country', 'total_amount'),
  );
  return board.build();
}
