/** What every Lambdamart dashboard shares: tags, the filter variables, time settings. */
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { type FilterName, filterVariable } from '../filters.ts';

export const folderTitle = 'Lambdamart';

export function lambdamartDashboard(builder: DashboardBuilder, options: { from: string; refresh?: string; filters: FilterName[] }): void {
  builder
    .tags(['lambdamart'])
    .timezone('utc')
    .time({ from: options.from, to: 'now' })
    .refresh(options.refresh ?? '')
    .readonly();
  for (const name of options.filters) builder.withVariable(filterVariable(name));
}
