/** 3. Customers: RFM segments (size and revenue), the R by F grid, and the valuable customers slipping away. */

import * as common from '@grafana/grafana-foundation-sdk/common';
import { FieldColorBuilder, FieldColorModeId } from '@grafana/grafana-foundation-sdk/dashboard';
import { Board, type BuiltDashboard } from '../board.ts';
import { Datasources } from '../datasources.ts';
import { anyOf, latestRfm } from '../filters.ts';
import { barChart, dataTable, valueStat } from '../panels.ts';
import { SqlQuery } from '../query.ts';
import { lambdamartDashboard } from './common.ts';

const wh = Datasources.warehouse;

export const customersUid = 'lambdamart-customers';

/**
 * The latest RFM scores with each customer's current country. RFM is "as of" its analysis date,
 * so the time picker does not apply; category does not either (a customer has no category).
 */
const scoredCustomers = `customers as (
    select r.*, c.country
    from ${latestRfm} r
    left join dim_customers c on c.user_id = r.user_id and c.is_current
    where ${anyOf('country', 'c.country')}
      and ${anyOf('segment', 'r.rfm_segment')}
)`;

export function customers(): BuiltDashboard {
  const board = Board.create(customersUid, 'Customers');
  board.builder.description('RFM segments of the latest analysis: sizes, revenue, the R by F grid and the customers at risk.');
  lambdamartDashboard(board.builder, { from: 'now-1y', filters: ['country', 'segment'] });

  board
    .row()
    .add(
      6,
      4,
      valueStat('Customers scored', wh, 'short', 'Customers in the latest RFM analysis (with the filters).'),
      new SqlQuery(wh, 'table', `with ${scoredCustomers}\nselect count(*) as customers from customers`).expects('customers'),
    )
    .add(
      6,
      4,
      valueStat('Their revenue', wh, 'currencyUSD', 'Monetary value of those customers up to the analysis date.'),
      new SqlQuery(wh, 'table', `with ${scoredCustomers}\nselect coalesce(sum(monetary_value), 0) as revenue from customers`).expects(
        'revenue',
      ),
    )
    .add(
      6,
      4,
      valueStat('At risk or can’t lose: revenue', wh, 'currencyUSD', 'Monetary value of the At Risk and Can’t Lose Them customers.'),
      new SqlQuery(
        wh,
        'table',
        `with ${scoredCustomers}\nselect coalesce(sum(monetary_value), 0) as revenue_at_risk from customers where rfm_segment in ('At Risk', 'Can''t Lose Them')`,
      ).expects('revenue_at_risk'),
    )
    .add(
      6,
      4,
      // A stat shows numbers: the date as epoch milliseconds, displayed by the unit as a date.
      valueStat('Analysis date', wh, 'time:YYYY-MM-DD', 'The date the RFM scores are as of.'),
      new SqlQuery(
        wh,
        'table',
        "select extract(epoch from max(analysis_date)::timestamp at time zone 'UTC') * 1000 as analysis_date from rfm_analysis",
      ).expects('analysis_date'),
    );

  board
    .row()
    .add(
      12,
      10,
      barChart('Customers by segment', wh, 'short', 'segment', 'How many customers each RFM segment holds.'),
      new SqlQuery(
        wh,
        'table',
        `with ${scoredCustomers}
select rfm_segment as segment, count(*) as customers
from customers
group by rfm_segment
order by customers desc`,
      ).expects('segment', 'customers'),
    )
    .add(
      12,
      10,
      dataTable('Segments: size and revenue', wh, 'Customers, revenue, orders and average order value per segment.', 'revenue'),
      new SqlQuery(
        wh,
        'table',
        `with ${scoredCustomers}
select rfm_segment as segment, count(*) as customers, sum(monetary_value) as revenue, sum(frequency_count) as orders,
       round(sum(monetary_value) / nullif(sum(frequency_count), 0), 2) as average_order_value
from customers
group by rfm_segment
order by revenue desc`,
      ).expects('segment', 'customers', 'revenue', 'average_order_value'),
    );

  const heatmap = dataTable(
    'R by F heatmap',
    wh,
    'Customers per recency score (rows, 5 = most recent) and frequency score (columns, 5 = most orders).',
  );
  heatmap
    .cellOptions({ type: common.TableCellDisplayMode.ColorBackground, mode: common.TableCellBackgroundDisplayMode.Gradient })
    .colorScheme(new FieldColorBuilder().mode(FieldColorModeId.ContinuousBlues))
    .overrideByName('R', [{ id: 'custom.cellOptions', value: { type: 'auto' } }]);
  board
    .row()
    .add(
      10,
      9,
      heatmap,
      new SqlQuery(
        wh,
        'table',
        `with ${scoredCustomers}
select 'R' || s.r as "R",
       count(c.user_id) filter (where c.frequency_score = 1) as "F1",
       count(c.user_id) filter (where c.frequency_score = 2) as "F2",
       count(c.user_id) filter (where c.frequency_score = 3) as "F3",
       count(c.user_id) filter (where c.frequency_score = 4) as "F4",
       count(c.user_id) filter (where c.frequency_score = 5) as "F5"
from generate_series(5, 1, -1) as s(r)
left join customers c on c.recency_score = s.r
group by s.r
order by s.r desc`,
      ).expects('R', 'F1', 'F2', 'F3', 'F4', 'F5'),
    )
    .add(
      14,
      9,
      dataTable(
        'At risk and can’t lose: the most valuable',
        wh,
        'Customers who bought often or much but not lately: At Risk and Can’t Lose Them, by monetary value.',
        'monetary_value',
      ),
      new SqlQuery(
        wh,
        'table',
        `with ${scoredCustomers}
select user_id, rfm_segment as segment, country, recency_days, frequency_count as orders, monetary_value,
       recency_score, frequency_score, monetary_score
from customers
where rfm_segment in ('At Risk', 'Can''t Lose Them')
order by monetary_value desc
limit 100`,
      ).expects('user_id', 'segment', 'recency_days', 'orders', 'monetary_value'),
    );
  return board.build();
}
