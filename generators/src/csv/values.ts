/**
 * Reading CSV cell values the way spreadsheets write them: numbers with thousands separators or a
 * decimal comma, currency signs, and dates in ISO 8601, DD/MM/YYYY, MM/DD/YYYY or epoch seconds/ms.
 */

/** How a column writes numbers: 1,234.56 (`dot`) or 1.234,56 (`comma`). */
export type NumberStyle = 'dot' | 'comma';

/** `ymd-compact`: 19970101, as fixed-width exports (and the CDNOW dataset) write dates. */
export type DateFormat = 'iso' | 'dmy' | 'mdy' | 'ymd' | 'ymd-compact' | 'epoch-s' | 'epoch-ms';

const currency = /^[\s$€£¥₹]*|[\s$€£¥₹A-Z]*$/g;

/** A number in the given style, or undefined when the text is not one. */
export function parseNumber(text: string, style: NumberStyle = 'dot'): number | undefined {
  let t = text.replace(currency, '').replace(/[\s\u00a0']/g, '');
  if (t === '') return undefined;
  const negative = /^\(.*\)$/.test(t);
  if (negative) t = t.slice(1, -1);
  if (style === 'dot') {
    if (!/^[-+]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?$/.test(t)) return undefined;
    t = t.replace(/,/g, '');
  } else {
    if (!/^[-+]?(\d{1,3}(\.\d{3})+|\d+)?(,\d+)?$/.test(t)) return undefined;
    t = t.replace(/\./g, '').replace(',', '.');
  }
  if (!/\d/.test(t)) return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? (negative ? -n : n) : undefined;
}

/** Which style a column of numbers uses, from the evidence in its sample values. */
export function detectNumberStyle(values: readonly string[], delimiter: string): NumberStyle {
  let dot = 0;
  let comma = 0;
  for (const raw of values) {
    const v = raw.replace(currency, '').trim();
    if (/^-?\d{1,3}(\.\d{3})+(,\d+)?$/.test(v) || /^-?\d+,\d{1,2}$/.test(v)) comma++;
    else if (/^-?\d{1,3}(,\d{3})+(\.\d+)?$/.test(v) || /^-?\d+\.\d+$/.test(v)) dot++;
  }
  if (comma > dot) return 'comma';
  if (dot > comma) return 'dot';
  // No evidence either way: files delimited by semicolons are usually written with decimal commas.
  return delimiter === ';' ? 'comma' : 'dot';
}

const isoDate = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const slashDate = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;
const ymdSlash = /^(\d{4})[/.](\d{1,2})[/.](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;

/** The date format of a column, or undefined when its values are not dates. */
export function detectDateFormat(values: readonly string[]): DateFormat | undefined {
  const present = values.map((v) => v.trim()).filter(Boolean);
  if (present.length === 0) return undefined;
  if (present.every((v) => isoDate.test(v))) return 'iso';
  if (present.every((v) => ymdSlash.test(v))) return 'ymd';
  if (present.every((v) => /^\d{13}$/.test(v))) return 'epoch-ms';
  // Eight digits are a date only when every one is a real day from 1900 to 2099.
  if (present.every((v) => /^(19|20)\d{6}$/.test(v) && parseDate(v, 'ymd-compact') !== undefined)) return 'ymd-compact';
  if (present.every((v) => /^\d{10}$/.test(v))) return 'epoch-s';
  if (!present.every((v) => slashDate.test(v))) return undefined;
  // 25/12/2025 can only be day first, 12/25/2025 only month first; with no such value, day first.
  let dayFirst = false;
  let monthFirst = false;
  for (const v of present) {
    const m = slashDate.exec(v) as RegExpExecArray;
    if (Number(m[1]) > 12) dayFirst = true;
    if (Number(m[2]) > 12) monthFirst = true;
  }
  if (monthFirst && !dayFirst) return 'mdy';
  return 'dmy';
}

/** Epoch milliseconds in UTC (a value without an offset is taken as UTC), or undefined. */
export function parseDate(text: string, format: DateFormat): number | undefined {
  const v = text.trim();
  if (v === '') return undefined;
  let time: number;
  switch (format) {
    case 'iso': {
      if (!isoDate.test(v)) return undefined;
      const withT = v.replace(' ', 'T');
      time = Date.parse(
        /T/.test(withT) && !/(Z|[+-]\d{2}:?\d{2})$/.test(withT) ? `${withT}Z` : /T/.test(withT) ? withT : `${withT}T00:00:00Z`,
      );
      break;
    }
    case 'epoch-s':
      if (!/^\d{9,11}$/.test(v)) return undefined;
      time = Number(v) * 1000;
      break;
    case 'epoch-ms':
      if (!/^\d{12,14}$/.test(v)) return undefined;
      time = Number(v);
      break;
    case 'ymd-compact': {
      const m = /^(\d{4})(\d{2})(\d{2})$/.exec(v);
      if (!m) return undefined;
      time = utc(Number(m[1]), Number(m[2]), Number(m[3]));
      break;
    }
    case 'ymd': {
      const m = ymdSlash.exec(v);
      if (!m) return undefined;
      time = utc(Number(m[1]), Number(m[2]), Number(m[3]), m[4], m[5], m[6]);
      break;
    }
    default: {
      const m = slashDate.exec(v);
      if (!m) return undefined;
      const [day, month] = format === 'dmy' ? [Number(m[1]), Number(m[2])] : [Number(m[2]), Number(m[1])];
      time = utc(Number(m[3]), month, day, m[4], m[5], m[6]);
    }
  }
  return Number.isFinite(time) ? time : undefined;
}

function utc(year: number, month: number, day: number, h?: string, mi?: string, s?: string): number {
  if (month < 1 || month > 12 || day < 1 || day > 31) return Number.NaN;
  const time = Date.UTC(year, month - 1, day, Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0));
  // Date.UTC rolls 31/02 over into March: refuse days a month does not have.
  return new Date(time).getUTCDate() === day ? time : Number.NaN;
}
