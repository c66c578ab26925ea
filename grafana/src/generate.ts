/** Turns the dashboards into the JSON files Grafana provisions: stable text, so a rebuild changes nothing. */
import { resolve } from 'node:path';
import { dashboardDefinitions } from './dashboards/index.ts';

export const dashboardsDir = resolve(import.meta.dirname, '..', 'dashboards');

/** The JSON text of a dashboard: two-space indents and a final newline, the keys in the SDK's order. */
export function dashboardJson(dashboard: unknown): string {
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}

/** Every dashboard file: its name under dashboards/ and its text. */
export function generateDashboards(): { file: string; json: string }[] {
  return dashboardDefinitions.map(({ file, build }) => ({ file, json: dashboardJson(build().dashboard) }));
}
