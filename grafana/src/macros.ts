/**
 * What Grafana does to a Postgres panel's SQL before the database sees it, so the checks run the
 * same SQL Grafana would:
 *   1. the frontend interpolates template variables (`$var`, `${var}`, `${var:format}`), with the
 *      SQL datasources' quoting and the All semantics of a custom all value or all options;
 *   2. the backend expands the macros (pkg/tsdb/grafana-postgresql-datasource/macros.go):
 *      $__time, $__timeEpoch, $__timeFilter, $__timeFrom(), $__timeTo(), $__timeGroup,
 *      $__timeGroupAlias, $__unixEpochFilter, $__unixEpochGroup(Alias).
 */

import { LambdamartError } from '@lambdamart/core';

/** A query this expander cannot turn into the SQL Grafana would send. */
function cannotExpand(message: string): LambdamartError {
  return new LambdamartError('LM_ERR_GRAFANA_QUERY_EXPANSION', message);
}

export interface TimeRange {
  from: Date;
  to: Date;
}

/** A template variable as the dashboard has it: its options and what is selected now. */
export interface VariableState {
  multi?: boolean;
  includeAll?: boolean;
  /** A custom all value, substituted unformatted when All is selected. */
  allValue?: string;
  /** The option values (without All). */
  options: string[];
  /** The selected values, or '$__all' for All. */
  current: string[] | '$__all';
}

export type Variables = Record<string, VariableState>;

// Grafana's variable syntaxes: $name, [[name:format]], ${name.fieldPath:format}.
const variablePattern = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}/g;

/** A SQL string literal, quotes doubled (Grafana's quoteLiteral and `sqlstring`). */
const quoteLiteral = (value: string) => `'${value.replaceAll("'", "''")}'`;

function formatValue(value: string | string[], format: string | undefined, variable: VariableState): string {
  const values = Array.isArray(value) ? value : [value];
  switch (format) {
    case undefined:
      // The SQL datasources' interpolateVariable: a multi or All variable is quoted, a single one is raw.
      if (Array.isArray(value) || variable.multi || variable.includeAll) return values.map(quoteLiteral).join(',');
      return values.join('').replaceAll("'", "''");
    case 'sqlstring':
      return values.map(quoteLiteral).join(',');
    case 'csv':
    case 'raw':
      return values.join(',');
    case 'singlequote':
      return values.map((v) => `'${v.replaceAll("'", "\\'")}'`).join(',');
    case 'doublequote':
      return values.map((v) => `"${v.replaceAll('"', '\\"')}"`).join(',');
    case 'pipe':
      return values.join('|');
    default:
      throw cannotExpand(`template variable format "${format}" is not supported by this expander`);
  }
}

/** Interpolates the template variables of `sql`; names not in `variables` (such as `$__timeFilter`) stay. */
export function interpolateVariables(sql: string, variables: Variables): string {
  return sql.replace(
    variablePattern,
    (match, name1?: string, name2?: string, format2?: string, name3?: string, field?: string, format3?: string) => {
      const name = name1 ?? name2 ?? name3 ?? '';
      const variable = variables[name];
      if (!variable) return match;
      if (field !== undefined) throw cannotExpand(`template variable field paths ($\{${name}.${field}}) are not supported`);
      const format = format2 ?? format3;
      if (variable.current === '$__all') {
        if (!variable.includeAll) throw cannotExpand(`template variable ${name} has All selected but does not include All`);
        // Grafana skips formatting a custom all value (except for the text and percentencode formats).
        if (variable.allValue !== undefined && format !== 'text' && format !== 'percentencode') return variable.allValue;
        return formatValue(variable.options, format, variable);
      }
      if (variable.current.length === 0) throw cannotExpand(`template variable ${name} has nothing selected`);
      return formatValue(variable.multi ? variable.current : (variable.current[0] ?? ''), format, variable);
    },
  );
}

/** Go's time.RFC3339Nano in UTC: fractional seconds without trailing zeros, none when whole. */
export function rfc3339Nano(date: Date): string {
  const iso = date.toISOString(); // 2017-04-21T05:01:17.000Z
  const fraction = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 19)}${fraction ? `.${fraction}` : ''}Z`;
}

const intervalUnits: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, M: 2592000, y: 31536000 };

/** gtime.ParseInterval: `5m`, `1h`, `30s`, `1d`... in seconds. */
export function intervalSeconds(interval: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w|M|y)$/.exec(interval.trim());
  if (!match) throw cannotExpand(`error parsing interval ${interval}`);
  return Number(match[1]) * (intervalUnits[match[2] ?? 's'] ?? 1);
}

/** Go's %v of a float64: the shortest digits, in exponent form (1e+06) from a million up or below 1e-4. */
export function goFloat(value: number): string {
  if (value === 0) return '0';
  const exponent = Math.floor(Math.log10(Math.abs(value)));
  if (exponent < -4 || exponent >= 6) {
    const [mantissa, exp = '0'] = value.toExponential().split('e');
    const sign = exp.startsWith('-') ? '-' : '+';
    return `${mantissa}e${sign}${exp.replace(/^[+-]/, '').padStart(2, '0')}`;
  }
  return String(value);
}

const macroPattern = /\$([_a-zA-Z0-9]+)\(([^)]*)\)/g;

function evaluateMacro(name: string, args: string[], range: TimeRange): string {
  const column = () => {
    if (!args[0]) throw cannotExpand(`missing time column argument for macro ${name}`);
    return args[0];
  };
  const group = (expand: (column: string, seconds: string) => string) => {
    if (args.length < 2) throw cannotExpand(`macro ${name} needs time column and interval and optional fill value`);
    const seconds = goFloat(intervalSeconds((args[1] ?? '').replace(/^'+|'+$/g, '')));
    return expand(args[0] ?? '', seconds);
  };
  const from = rfc3339Nano(range.from);
  const to = rfc3339Nano(range.to);
  const epoch = (d: Date) => Math.floor(d.getTime() / 1000);
  switch (name) {
    case '__time':
      return `${column()} AS "time"`;
    case '__timeEpoch':
      return `extract(epoch from ${column()}) as "time"`;
    case '__timeFilter':
      return `${column()} BETWEEN '${from}' AND '${to}'`;
    case '__timeFrom':
      return `'${from}'`;
    case '__timeTo':
      return `'${to}'`;
    case '__timeGroup':
      return group((c, s) => `floor(extract(epoch from ${c})/${s})*${s}`);
    case '__timeGroupAlias':
      return `${evaluateMacro('__timeGroup', args, range)} AS "time"`;
    case '__unixEpochFilter':
      return `${column()} >= ${epoch(range.from)} AND ${column()} <= ${epoch(range.to)}`;
    case '__unixEpochGroup':
      return group((c, s) => `floor((${c})/${s})*${s}`);
    case '__unixEpochGroupAlias':
      return `${evaluateMacro('__unixEpochGroup', args, range)} AS "time"`;
    default:
      throw cannotExpand(`unknown macro "${name}"`);
  }
}

/** Expands the Postgres datasource's macros as Grafana's backend does. */
export function expandMacros(sql: string, range: TimeRange): string {
  return sql.replace(macroPattern, (whole: string, name: string, argList: string) => {
    let macro = name;
    // Grafana's pre-5.3 compatibility: a $__timeGroup directly followed by ',' gets AS "time"
    // (Grafana looks at the first occurrence of the same call, so this does too).
    if (macro === '__timeGroup' && sql[sql.indexOf(whole) + whole.length] === ',') macro = '__timeGroupAlias';
    const args = argList.split(',').map((a) => a.trim());
    return evaluateMacro(macro, args, range);
  });
}

/** The SQL Grafana sends to Postgres for a panel query: variables first, then macros. */
export function expandPanelSql(sql: string, range: TimeRange, variables: Variables): string {
  return expandMacros(interpolateVariables(sql, variables), range);
}
