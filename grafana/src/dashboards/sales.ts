/** 1. Sales overview: the KPIs against the previous period, revenue over time, by category and country, top products. */
import { Datasources } from '../datasources.ts';
import { Board, type BuiltDashboard } from '../board.ts';
import { revenue, salesKpi, salesLines } from '../facts.ts';
import { barChart, dataTable, kpiStat, timeSeries } from '../panels.ts';
import { SqlQuery } from '../query.ts';
import { lambdamartDashboard } from './common.ts';

const wh = Datasources.warehouse;

export const salesOverviewUid = 'lambdamart-sales-overview';

/** The panel queries the revenue test compares: KPI, by category, by country. */
export const salesQueries = {
  revenueKpi: salesKpi('revenue', revenue),
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
  board.builder.description('Revenue, orders, average order value and customers of the warehouse (batch view), against the previous period.');
  lambdamartDashboard(board.builder, { from: 'now-90d', filters: ['country', 'category', 'segment'] });
  const change = 'Change against the previous period of the same length.';

  board
    .row()
    .add(6, 4, kpiStat('Revenue', wh, 'currencyUSD', `Sum of the sales lines' amounts. ${change}`), new SqlQuery(wh, 'table', salesQueries.revenueKpi).expects('revenue'))
    .add(
      6,
      4,
      kpiStat('Orders', wh, 'short', `Distinct transactions. ${change}`),
      new SqlQuery(wh, 'table', salesKpi('orders', 'count(distinct transaction_id)')).expects('orders'),
    )
    .add(
      6,
      4,
      kpiStat('Average order value', wh, 'currencyUSD', `Revenue / orders. ${change}`),
      new SqlQuery(wh, 'table', salesKpi('average_order_value', `round(${revenue} / nullif(count(distinct transaction_id), 0), 2)`)).expects(
        'average_order_value',
      ),
    )
    .add(
      6,
      4,
      kpiStat('Customers', wh, 'short', `Distinct buying customers. ${change}`),
      new SqlQuery(wh, 'table', salesKpi('customers', 'count(distinct user_id)')).expects('customers'),
    );

  board
    .row()
    .add(
      24,
      8,
      timeSeries('Revenue over time', wh, 'currencyUSD', 'Revenue per day (UTC).'),
      new SqlQuery(
        wh,
        'time_series',
        `with ${salesLines()}
select $__timeGroupAlias(transaction_timestamp, '1d'), ${revenue} as revenue
from sales
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

  board
    .row()
    .add(
      24,
      10,
      dataTable('Top products', wh, 'The 20 products with the most revenue in range (current name).', 'revenue'),
      new SqlQuery(
        wh,
        'table',
        `with ${salesLines()}
select s.product_id, cur.name, cur.category, ${revenue} as revenue, sum(s.quantity) as units,
       count(distinct s.transaction_id) as orders
from sales s
left join dim_products cur on cur.product_id = s.product_id and cur.is_current
group by s.product_id, cur.name, cur.category
order by revenue desc
limit 20`,
      ).expects('product_id', 'name', 'category', 'revenue', 'units', 'orders'),
    );
  return board.build();
}
