/**
 * Our rules for a generated dashboard, beyond the SDK's schema: every panel inside the 24-column
 * grid, unique panel ids, every datasource uid provisioned, every query with a format, every
 * template variable used defined. Returns the problems found, each naming the panel.
 */
import { gridColumns } from './board.ts';

export interface PanelJson {
  id?: number;
  type?: string;
  title?: string;
  gridPos?: { x: number; y: number; w: number; h: number };
  datasource?: { uid?: string };
  targets?: { refId?: string; datasource?: { uid?: string }; format?: string; rawSql?: string }[];
  panels?: PanelJson[];
}

export interface DashboardJson {
  uid?: string;
  panels?: PanelJson[];
  templating?: { list?: { name: string; query?: unknown; datasource?: { uid?: string } }[] };
}

export const queryFormats = ['time_series', 'table'];

// Grafana's variable syntaxes; names starting with __ are Grafana's own (macros, $__all...).
const variablePattern = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}/g;

/** The template variable names `text` uses (Grafana's own `$__` names left out). */
export function variablesUsed(text: string): string[] {
  const names = new Set<string>();
  for (const m of text.matchAll(variablePattern)) {
    const name = m[1] ?? m[2] ?? m[4] ?? '';
    if (!name.startsWith('__')) names.add(name);
  }
  return [...names];
}

/** Every panel, rows' nested panels included. */
export function allPanels(dashboard: DashboardJson): PanelJson[] {
  return (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** `json` is a dashboard as Grafana reads it (generated JSON, or the SDK's Dashboard object). */
export function checkDashboardRules(json: object, provisionedUids: readonly string[]): string[] {
  const dashboard = json as DashboardJson;
  const problems: string[] = [];
  const where = (p: PanelJson) => `${dashboard.uid ?? '?'} panel ${p.id ?? '(no id)'} "${p.title ?? ''}"`;
  const defined = new Set((dashboard.templating?.list ?? []).map((v) => v.name));
  const seenIds = new Set<number>();
  const checkUid = (uid: string | undefined, what: string) => {
    if (uid !== undefined && !provisionedUids.includes(uid)) problems.push(`${what}: datasource uid "${uid}" is not provisioned`);
  };
  const checkVariables = (text: string, what: string) => {
    for (const name of variablesUsed(text))
      if (!defined.has(name)) problems.push(`${what}: uses $${name}, which the dashboard does not define`);
  };

  for (const variable of dashboard.templating?.list ?? []) {
    checkUid(variable.datasource?.uid, `variable ${variable.name}`);
    if (typeof variable.query === 'string') checkVariables(variable.query, `variable ${variable.name}`);
  }
  for (const panel of allPanels(dashboard)) {
    if (panel.id === undefined) problems.push(`${where(panel)}: has no id`);
    else if (seenIds.has(panel.id)) problems.push(`${where(panel)}: id ${panel.id} is used twice`);
    else seenIds.add(panel.id);
    const pos = panel.gridPos;
    if (!pos) problems.push(`${where(panel)}: has no gridPos`);
    else if (pos.x < 0 || pos.w < 1 || pos.h < 1 || pos.x + pos.w > gridColumns) {
      problems.push(`${where(panel)}: gridPos x=${pos.x} w=${pos.w} h=${pos.h} leaves the ${gridColumns}-column grid`);
    }
    checkUid(panel.datasource?.uid, where(panel));
    if (panel.type !== 'row' && panel.type !== 'text' && !(panel.targets ?? []).length) problems.push(`${where(panel)}: has no query`);
    for (const target of panel.targets ?? []) {
      const what = `${where(panel)} query ${target.refId ?? '?'}`;
      checkUid(target.datasource?.uid, what);
      if (!target.datasource?.uid && !panel.datasource?.uid) problems.push(`${what}: has no datasource`);
      if (!target.format || !queryFormats.includes(target.format))
        problems.push(`${what}: format "${target.format ?? ''}" is not one of ${queryFormats.join(', ')}`);
      if (!target.rawSql?.trim()) problems.push(`${what}: has no rawSql`);
      else checkVariables(target.rawSql, what);
    }
  }
  return problems;
}
