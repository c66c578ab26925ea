/** 2. Products: the funnel (views, carts, purchases), conversion over time, and every product's figures. */
import { Board, type BuiltDashboard } from '../board.ts';
import { Datasources } from '../datasources.ts';
import { cartAdds, dayStart, productViews, revenue, salesLines } from '../facts.ts';
import { barChart, dataTable, timeSeries } from '../panels.ts';
import { SqlQuery } from '../query.ts';
import { lambdamartDashboard } from './common.ts';

const wh = Datasources.warehouse;

export const productsUid = 'lambdamart-products';

/**
 * Per UTC day: views, cart adds and purchases (orders buying the products in the filters).
 * Grouped by the facts' event_date first, so the time buckets are computed for a few rows.
 */
const dailyFunnel = `with ${productViews()},
${cartAdds()},
${salesLines()},
orders as (select transaction_id, min(event_date) as event_date from sales group by transaction_id),
per_day as (
    select event_date, count(*) as views, 0 as cart_adds, 0 as purchases from views group by event_date
    union all
    select event_date, 0, count(*), 0 from cart_adds group by event_date
    union all
    select event_date, 0, 0, count(*) from orders group by event_date
),
daily as (
    select ${dayStart} as day, sum(views) as views, sum(cart_adds) as cart_adds, sum(purchases) as purchases
    from per_day
    group by event_date
)`;

export function products(): BuiltDashboard {
  const board = Board.create(productsUid, 'Products');
  board.builder.description('The funnel from product views to purchases, and each product’s revenue, units, views and conversion.');
  lambdamartDashboard(board.builder, { from: 'now-90d', filters: ['country', 'category', 'segment'] });

  board
    .row()
    .add(
      8,
      9,
      barChart('Funnel', wh, 'short', 'stage', 'Product views, add-to-cart events and purchases (orders) in range.'),
      new SqlQuery(
        wh,
        'table',
        `with ${productViews()},
${cartAdds()},
${salesLines()}
select stage, events
from (
    select 1 as step, 'views' as stage, (select count(*) from views) as events
    union all
    select 2, 'carts', (select count(*) from cart_adds)
    union all
    select 3, 'purchases', (select count(*) from (select transaction_id from sales group by transaction_id) orders)
) funnel
order by step`,
      ).expects('stage', 'events'),
    )
    .add(
      16,
      9,
      timeSeries('Funnel over time', wh, 'short', 'Per day (UTC): product views, add-to-cart events and purchases.'),
      new SqlQuery(
        wh,
        'time_series',
        `${dailyFunnel}
select $__timeGroupAlias(day, '1d'), sum(views) as views, sum(cart_adds) as carts, sum(purchases) as purchases
from daily
group by 1
order by 1`,
      ).expects('views', 'carts', 'purchases'),
    );

  board.row().add(
    24,
    8,
    timeSeries('Conversion over time', wh, 'percentunit', 'Per day: purchases / views and carts / views.'),
    new SqlQuery(
      wh,
      'time_series',
      `${dailyFunnel}
select $__timeGroupAlias(day, '1d'),
       round(sum(purchases)::numeric / nullif(sum(views), 0), 4) as view_to_purchase,
       round(sum(cart_adds)::numeric / nullif(sum(views), 0), 4) as view_to_cart
from daily
group by 1
order by 1`,
    ).expects('view_to_purchase', 'view_to_cart'),
  );

  board.row().add(
    24,
    12,
    dataTable('Products', wh, 'Every product sold or viewed in range; click a header to sort. Conversion = orders / views.', 'revenue'),
    new SqlQuery(
      wh,
      'table',
      `with ${productViews()},
${cartAdds()},
${salesLines()},
per_order as (
    select product_id, transaction_id, ${revenue} as revenue, sum(quantity) as units
    from sales group by product_id, transaction_id
),
sold as (select product_id, sum(revenue) as revenue, sum(units) as units, count(*) as orders from per_order group by product_id),
viewed as (select product_id, count(*) as views from views group by product_id),
carted as (select product_id, count(*) as carts from cart_adds group by product_id)
-- Each CTE is read once, so Postgres inlines it (and may scan the facts in parallel).
select product_id, cur.name, cur.category,
       coalesce(s.revenue, 0) as revenue, coalesce(s.units, 0) as units, coalesce(s.orders, 0) as orders,
       coalesce(v.views, 0) as views, coalesce(c.carts, 0) as carts,
       round(coalesce(s.orders, 0)::numeric / nullif(v.views, 0), 4) as conversion
from sold s
full join viewed v using (product_id)
left join carted c using (product_id)
left join (select product_id, name, category from dim_products where is_current) cur using (product_id)
order by revenue desc`,
    ).expects('product_id', 'name', 'category', 'revenue', 'units', 'views', 'conversion'),
  );
  return board.build();
}
