/**
 * PostgreSQL COPY text format: one line per row, tab between columns, `\N` for null, and
 * backslash escapes for the characters that would otherwise end a field or a row.
 */
export type CopyValue = string | number | null;

const special = /[\\\t\n\r]/;

export function copyField(value: CopyValue): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  if (!special.test(value)) return value;
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

export function copyLine(values: readonly CopyValue[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) line += '\t';
    line += copyField(values[i] ?? null);
  }
  return `${line}\n`;
}
