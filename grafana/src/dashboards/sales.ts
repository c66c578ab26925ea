/** 1. Sales overview: the KPIs against the previous period, revenue over time, by category and country, top products. */

import { Board, type BuiltDashboard } from '../board.ts';
import { Datasources } from '../datasources.ts';
import { dayStart, revenue, salesKpi, salesLines } from '../facts.ts';
import { barChart, dataTable, kpiStat, timeSeries } from '../panels.ts';
import { SqlQuery } from '../query.ts';
import { lambdamartDashboard } from './common.ts';

const wh = Datasources.warehouse;

export const salesOverviewUid = 'lambdamart-sales-overview';

/** The panel queries the revenue test compares: KPI, by category, by country. */
export const salesQueries = {
  revenueKpi: salesKpi('revenue', { measure: revenue }),
  revenueByCategory: `with ${salesLines()}
select category, ${revenue} as revenue
from sales
group by category
order by revenue desc`,
  revenueByCountry: `with ${salesLines()}
select country, ${revenue} as revenue
from sales
group by country
order by revenue desc`,
};

export function salesOverview(): BuiltDashboard {
  const board = Board.create(salesOverviewUid, 'Sales overview');
  board.builder.description(
    'Revenue, orders, average order value and customers of the warehouse (batch view), against the previous period.',
  );
  lambdamartDashboard(board.builder, { from: 'now-90d', filters: ['country', 'category', 'segment'] });
  const change = 'Change against the previous period of the same length.';

  board
    .row()
    .add(
      6,
      4,
      kpiStat('Revenue', wh, 'currencyUSD', `Sum of the sales lines' amounts. ${change}`),
      new SqlQuery(wh, 'table', salesQueries.revenueKpi).expects('revenue'),
    )
    .add(
      6,
      4,
      kpiStat('Orders', wh, 'short', `Distinct transactions. ${change}`),
      new SqlQuery(wh, 'table', salesKpi('orders', { grain: 'transaction_id', measure: 'count(*)' })).expects('orders'),
    )
    .add(
      6,
      4,
      kpiStat('Average order value', wh, 'currencyUSD', `Revenue / orders. ${change}`),
      new SqlQuery(
        wh,
        'table',
        salesKpi('average_order_value', { grain: 'transaction_id', measure: `round(${revenue} / nullif(count(*), 0), 2)` }),
      ).expects('average_order_value'),
    )
    .add(
      6,
      4,
      kpiStat('Customers', wh, 'short', `Distinct buying customers. ${change}`),
      new SqlQuery(wh, 'table', salesKpi('customers', { grain: 'user_id', measure: 'count(*)' })).expects('customers'),
    );

  board.row().add(
    24,
    8,
    timeSeries('Revenue over time', wh, 'currencyUSD', 'Revenue per day (UTC).'),
    new SqlQuery(
      wh,
      'time_series',
      `with ${salesLines()},
daily as (select ${dayStart} as day, ${revenue} as revenue from sales group by event_date)
select $__timeGroupAlias(day, '1d'), sum(revenue) as revenue
from daily
group by 1
order by 1`,
    ).expects('revenue'),
  );

  board
    .row()
    .add(
      12,
      9,
      barChart('Revenue by category', wh, 'currencyUSD', 'category', 'Category of the product version sold.'),
      new SqlQuery(wh, 'table', salesQueries.revenueByCategory).expects('category', 'revenue'),
    )
    .add(
      12,
      9,
      barChart('Revenue by country', wh, 'currencyUSD', 'country', "The order's country."),
      new SqlQuery(wh, 'table', salesQueries.revenueByCountry).expects('country', 'revenue'),
    );

  board.row().add(
    24,
    10,
    dataTable('Top products', wh, 'The 20 products with the most revenue in range (current name).', 'revenue'),
    new SqlQuery(
      wh,
      'table',
      `with ${salesLines()},
per_order as (
    select product_id, transaction_id, ${revenue} as revenue, sum(quantity) as units
    from sales
    group by product_id, transaction_id
),
top as (
    select product_id, sum(revenue) as revenue, sum(units) as units, count(*) as orders
    from per_order
    group by product_id
    order by revenue desc
    limit 20
)
select t.product_id, cur.name, cur.category, t.revenue, t.units, t.orders
from top t
left join dim_products cur on cur.product_id = t.product_id and cur.is_current
order by t.revenue desc`,
    ).expects('product_id', 'name', 'category', 'revenue', 'units', 'orders'),
  );
  return board.build();
}
