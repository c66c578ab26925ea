import type { BuiltDashboard } from '../board.ts';
import { customers } from './customers.ts';
import { pipelineHealth } from './pipeline.ts';
import { products } from './products.ts';
import { realtime } from './realtime.ts';
import { salesOverview } from './sales.ts';
import { trends } from './trends.ts';

export { salesOverviewUid, salesQueries } from './sales.ts';

/** Every dashboard, in the order a user meets them; each is written to dashboards/<file>.json. */
export const dashboardDefinitions: readonly { file: string; build: () => BuiltDashboard }[] = [
  { file: 'sales-overview.json', build: salesOverview },
  { file: 'products.json', build: products },
  { file: 'customers.json', build: customers },
  { file: 'trends.json', build: trends },
  { file: 'realtime.json', build: realtime },
  { file: 'pipeline-health.json', build: pipelineHealth },
];
