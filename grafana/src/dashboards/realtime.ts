/**
 * 5. Real time: the last hour by minute from the realtime database (the speed layer's raw tables,
 * seconds old), and the latest orders. Revenue is the sum of the lines' quantity x price, as in the
 * warehouse. Customer segments live in the warehouse, so only country and category filter here.
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

/** CTE `lines`: the order lines in range with their revenue. */
const lines = `lines as (
    select t.transaction_id, t.transaction_timestamp, t.country, i.quantity * i.price as revenue
    from transactions t
    join transaction_items i on i.transaction_id = t.transaction_id
    where $__timeFilter(t.transaction_timestamp)
      and ${anyOf('country', 't.country')}
      and ${category('i.product_id')}
)`;

const views = `views as (
    select v.event_timestamp
    from product_view_events v
    where $__timeFilter(v.event_timestamp)
      and ${anyOf('country', 'v.country')}
      and ${category('v.product_id')}
)`;

const carts = `carts as (
    select c.event_timestamp
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
      new SqlQuery(rt, 'table', `with ${lines}\nselect count(distinct transaction_id) as orders from lines`).expects('orders'),
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
        `with ${lines}
select $__timeGroupAlias(transaction_timestamp, '1m'), sum(revenue) as revenue
from lines
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
        `with ${lines}
select $__timeGroupAlias(transaction_timestamp, '1m'), count(distinct transaction_id) as orders
from lines
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
    select $__timeGroup(event_timestamp, '1m') as minute, count(*) as views, 0 as carts from views group by 1
    union all
    select $__timeGroup(event_timestamp, '1m') as minute, 0, count(*) from carts group by 1
)
select minute as time, sum(views) as views, sum(carts) as carts
from per_minute
group by minute
order by minute`,
    ).expects('views', 'carts'),
  );

  board.row().add(
    24,
    10,
    dataTable('Latest orders', rt, 'The 50 most recent orders in range (an order shows when one of its lines passes the filters).'),
    new SqlQuery(
      rt,
      'table',
      `with ${lines},
latest as (
    select transaction_id, sum(revenue) as revenue_in_filter
    from lines
    group by transaction_id
    order by max(transaction_timestamp) desc
    limit 50
)
select t.transaction_timestamp as time, t.transaction_id, t.user_id, t.country, t.payment_method,
       t.total_amount, l.revenue_in_filter, t.ingested_at
from latest l
join transactions t on t.transaction_id = l.transaction_id
order by t.transaction_timestamp desc`,
    ).expects('time', 'transaction_id', 'user_id', 'country', 'total_amount'),
  );
  return board.build();
}
