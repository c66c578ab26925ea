/**
 * Runs every panel query of the committed dashboards against real databases, as Grafana would:
 * template variables (options from their own queries, All or a selection) and macros expanded
 * with the dashboard's default time range, then the SQL on the panel's datasource.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from '@lambdamart/core';
import {
  allPanels,
  Datasources,
  dashboardDefinitions,
  dashboardsDir,
  expandPanelSql,
  type TimeRange,
  type Variables,
} from '@lambdamart/grafana';

export interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  datasource: 'warehouse' | 'realtime';
  format: string;
  rawSql: string;
  expected: string[];
}

interface DashboardFile {
  uid: string;
  time: { from: string; to: string };
  templating: { list?: { name: string; query?: string; multi?: boolean; includeAll?: boolean; allValue?: string }[] };
  panels?: Parameters<typeof allPanels>[0]['panels'];
}

export interface LoadedDashboard {
  file: string;
  json: DashboardFile;
  queries: PanelQuery[];
}

/** The committed dashboards, each query with the columns its panel expects. */
export function loadDashboards(): LoadedDashboard[] {
  return dashboardDefinitions.map(({ file, build }) => {
    const json = JSON.parse(readFileSync(join(dashboardsDir, file), 'utf8')) as DashboardFile;
    const { expectations } = build();
    const queries: PanelQuery[] = [];
    for (const panel of allPanels(json)) {
      for (const target of panel.targets ?? []) {
        const uid = target.datasource?.uid ?? panel.datasource?.uid;
        queries.push({
          dashboard: json.uid,
          panel: `${panel.id} "${panel.title}"`,
          refId: target.refId ?? 'A',
          datasource: uid === Datasources.realtime.uid ? 'realtime' : 'warehouse',
          format: target.format ?? '',
          rawSql: target.rawSql ?? '',
          expected: expectations.get(`${panel.id}/${target.refId}`) ?? [],
        });
      }
    }
    return { file, json, queries };
  });
}

const units: Record<string, number> = { m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3, y: 365 * 86400e3 };

/** A dashboard's relative time (`now-90d` .. `now`) as absolute instants. */
export function resolveRange(time: { from: string; to: string }, now = new Date()): TimeRange {
  const at = (expression: string): Date => {
    if (expression === 'now') return now;
    const match = /^now-(\d+)([mhdwy])$/.exec(expression);
    if (!match) throw new Error(`time range "${expression}" is not one the checks understand`);
    return new Date(now.getTime() - Number(match[1]) * (units[match[2] ?? 'd'] ?? 0));
  };
  return { from: at(time.from), to: at(time.to) };
}

/** The dashboard's variables with their options read from the warehouse, All selected unless `selection` says otherwise. */
export async function variableStates(wh: Pool, dashboard: DashboardFile, selection: Record<string, string[]> = {}): Promise<Variables> {
  const variables: Variables = {};
  for (const v of dashboard.templating.list ?? []) {
    const options = v.query ? (await wh.query<Record<string, string>>(v.query)).rows.map((row) => String(Object.values(row)[0])) : [];
    variables[v.name] = {
      multi: v.multi,
      includeAll: v.includeAll,
      allValue: v.allValue,
      options,
      current: selection[v.name] ?? '$__all',
    };
  }
  return variables;
}

export interface PanelRun {
  query: PanelQuery;
  sql: string;
  rows: Record<string, unknown>[];
  columns: string[];
  /** The median of the timed runs, in milliseconds. */
  ms: number;
}

/** Runs the expanded SQL `times` times (after one untimed warm-up when times > 1); the median duration. */
export async function runPanel(pool: Pool, query: PanelQuery, range: TimeRange, variables: Variables, times = 1): Promise<PanelRun> {
  const sql = expandPanelSql(query.rawSql, range, variables);
  const client = await pool.connect();
  try {
    let result = await client.query(sql);
    const durations: number[] = [];
    for (let i = 0; i < times; i++) {
      const started = process.hrtime.bigint();
      result = await client.query(sql);
      durations.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    durations.sort((a, b) => a - b);
    return {
      query,
      sql,
      rows: result.rows as Record<string, unknown>[],
      columns: result.fields.map((f) => f.name),
      ms: durations[Math.floor(durations.length / 2)] ?? 0,
    };
  } catch (error) {
    throw new Error(`${query.dashboard} panel ${query.panel} ${query.refId}: ${(error as Error).message}\n${sql}`);
  } finally {
    client.release();
  }
}

/** What is wrong with a run: no rows, a missing column, a time series without an ordered time. */
export function runProblems(run: PanelRun, { requireRows }: { requireRows: boolean }): string[] {
  const where = `${run.query.dashboard} panel ${run.query.panel} ${run.query.refId}`;
  const problems: string[] = [];
  if (requireRows && run.rows.length === 0) problems.push(`${where}: returned no rows`);
  for (const column of run.query.expected)
    if (!run.columns.includes(column)) problems.push(`${where}: has no column "${column}" (got ${run.columns.join(', ')})`);
  if (run.query.format === 'time_series') {
    const times = run.rows.map((r) => (r.time instanceof Date ? r.time.getTime() : Number(r.time)));
    if (times.some((t) => Number.isNaN(t))) problems.push(`${where}: time is not a time or epoch number`);
    if (times.some((t, i) => i > 0 && t < (times[i - 1] ?? 0))) problems.push(`${where}: rows are not in time order`);
  }
  return problems;
}
