/** 4. Trends: revenue growth against the previous period, per category, by week, month and quarter. */
import { Board, type BuiltDashboard } from '../board.ts';
import { Datasources } from '../datasources.ts';
import { anyOf } from '../filters.ts';
import { dataTable, timeSeries } from '../panels.ts';
import { SqlQuery } from '../query.ts';
import { lambdamartDashboard } from './common.ts';

const wh = Datasources.warehouse;

export const trendsUid = 'lambdamart-trends';

/**
 * sales_trends holds the batch layer's growth rates (revenue vs the previous period of the same
 * kind and category). Per category only: it has no country or customer, so those filters do not apply.
 */
function growthSql(periodType: 'week' | 'month' | 'quarter'): string {
  return `select $__time(period_start), category, round(growth_rate * 100, 2) as growth_pct
from sales_trends
where period_type = '${periodType}'
  and $__timeFilter(period_start)
  and ${anyOf('category', 'category')}
order by period_start, category`;
}

export function trends(): BuiltDashboard {
  const board = Board.create(trendsUid, 'Trends');
  board.builder.description('Revenue growth per category against the previous week, month and quarter (sales_trends).');
  lambdamartDashboard(board.builder, { from: 'now-1y', filters: ['category'] });

  const growth = (title: string, periodType: 'week' | 'month' | 'quarter') =>
    [
      timeSeries(title, wh, 'percent', `Revenue growth of each category against the previous ${periodType}, in percent.`),
      new SqlQuery(wh, 'time_series', growthSql(periodType)).expects('category', 'growth_pct'),
    ] as const;

  board.row().add(24, 8, ...growth('Weekly growth by category', 'week'));
  board
    .row()
    .add(12, 8, ...growth('Monthly growth by category', 'month'))
    .add(12, 8, ...growth('Quarterly growth by category', 'quarter'));
  board.row().add(
    24,
    10,
    dataTable('Periods in range', wh, 'Each period and category: orders, revenue, average order value, units and growth.', 'period_start'),
    new SqlQuery(
      wh,
      'table',
      `select period_type, period_value, period_start, category, total_sales as orders, total_revenue as revenue,
       avg_order_value, total_quantity as units, round(growth_rate * 100, 2) as growth_pct
from sales_trends
where $__timeFilter(period_start)
  and ${anyOf('category', 'category')}
order by period_start desc, period_type, category`,
    ).expects('period_type', 'period_value', 'category', 'revenue', 'growth_pct'),
  );
  return board.build();
}
