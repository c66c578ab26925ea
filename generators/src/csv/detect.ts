/**
 * Detection on a sample of the file: the delimiter, whether the first row is a header, and each
 * column's type (integer, decimal, date with its format, text), so that an import needs flags
 * only where a file is truly ambiguous.
 */
import { LambdamartError } from '@lambdamart/core';
import { parse } from 'csv-parse/sync';
import { type DateFormat, detectDateFormat, detectNumberStyle, type NumberStyle, parseNumber } from './values.ts';

export type ColumnType = 'integer' | 'decimal' | 'date' | 'text' | 'empty';

export interface DetectedColumn {
  index: number;
  /** The header name, or `column_N` (1-based) for a file without a header. */
  name: string;
  type: ColumnType;
  numberStyle: NumberStyle;
  dateFormat?: DateFormat;
}

/**
 * How the columns are separated: a delimiter character, or whitespace in a text export whose
 * columns are aligned with spaces (`spaces`: runs of two or more, so single spaces stay inside a
 * cell such as `Whole Milk`; `whitespace`: any run). Whitespace-aligned files have no quoting.
 */
export type Delimiter = ',' | ';' | '\t' | '|' | 'spaces' | 'whitespace';

export interface CsvDetection {
  delimiter: Delimiter;
  hasHeader: boolean;
  bom: boolean;
  columns: DetectedColumn[];
}

const Delimiters = [',', ';', '\t', '|'] as const;

export function isWhitespaceDelimiter(delimiter: Delimiter): delimiter is 'spaces' | 'whitespace' {
  return delimiter === 'spaces' || delimiter === 'whitespace';
}

/** The cells of one line of a whitespace-aligned file (leading and trailing blanks ignored). */
export function splitWhitespaceLine(line: string, delimiter: 'spaces' | 'whitespace'): string[] {
  const trimmed = line.trim();
  if (trimmed === '') return [];
  return trimmed.split(delimiter === 'spaces' ? /[ \t]{2,}|\t/ : /\s+/);
}

function splitWhitespaceSample(sample: string, delimiter: 'spaces' | 'whitespace'): string[][] {
  return sample
    .split(/\r?\n/)
    .map((line) => splitWhitespaceLine(line, delimiter))
    .filter((cells) => cells.length > 0);
}

/** The sample's records with a delimiter, cut before the last (possibly partial) line. */
function parseSample(sample: string, delimiter: string): string[][] {
  try {
    return parse(sample, { delimiter, relax_column_count: true, relax_quotes: true, skip_empty_lines: true, bom: true }) as string[][];
  } catch {
    return [];
  }
}

/** Cuts a sample read from the start of a file back to its last complete line outside quotes. */
export function completeLines(sample: string, isWholeFile: boolean): string {
  if (isWholeFile) return sample;
  let inQuotes = false;
  let lastBreak = -1;
  for (let i = 0; i < sample.length; i++) {
    const c = sample[i];
    if (c === '"') inQuotes = !inQuotes;
    else if (c === '\n' && !inQuotes) lastBreak = i;
  }
  return lastBreak >= 0 ? sample.slice(0, lastBreak + 1) : sample;
}

function chooseDelimiter(sample: string): { delimiter: Delimiter; rows: string[][] } {
  let best: { delimiter: Delimiter; rows: string[][]; score: number; consistent: number } = {
    delimiter: ',',
    rows: parseSample(sample, ','),
    score: -1,
    consistent: 0,
  };
  const measure = (rows: string[][]) => {
    const widths = rows.map((r) => r.length);
    const first = widths[0] ?? 0;
    const consistent = rows.length === 0 ? 0 : widths.filter((w) => w === first).length / widths.length;
    return { first, consistent, score: first < 2 ? -1 : consistent * 1000 + first };
  };
  const consider = (delimiter: Delimiter, rows: string[][]) => {
    const { score, consistent } = measure(rows);
    // The delimiter that splits every row into the same (largest) number of fields wins.
    if (score > best.score) best = { delimiter, rows, score, consistent };
  };
  for (const delimiter of Delimiters) consider(delimiter, parseSample(sample, delimiter));
  const runs = splitWhitespaceSample(sample, 'spaces');
  const spaced = measure(runs);
  // Aligned columns whose numbers carry thousands separators ("  1,234.50") also split alike on
  // commas, into fewer columns than the runs of spaces give.
  if (spaced.consistent === 1 && best.consistent === 1 && spaced.first > (best.rows[0]?.length ?? 0)) {
    return { delimiter: 'spaces', rows: runs };
  }
  // Otherwise whitespace only when no delimiter character splits every row alike: "1, 2, 3" stays a CSV.
  if (best.consistent < 1) {
    // Runs of spaces that split every row alike, with words inside cells ("Whole Milk"), are the
    // columns; single spaces between numbers ("00001 19970101") separate columns too.
    const wordsInCells = runs.some((row) => row.some((cell) => / /.test(cell) && /[A-Za-z]/.test(cell)));
    if (spaced.consistent === 1 && spaced.first >= 2 && wordsInCells) return { delimiter: 'spaces', rows: runs };
    consider('spaces', runs);
    consider('whitespace', splitWhitespaceSample(sample, 'whitespace'));
  }
  return best;
}

function columnType(values: readonly string[], delimiter: string): Omit<DetectedColumn, 'index' | 'name'> {
  const present = values.map((v) => v.trim()).filter(Boolean);
  if (present.length === 0) return { type: 'empty', numberStyle: 'dot' };
  const numberStyle = detectNumberStyle(present, delimiter);
  const dateFormat = detectDateFormat(present);
  // 10- or 13-digit integers could be ids as well as epoch times: only a plausible range is a date.
  if (dateFormat === 'iso' || dateFormat === 'dmy' || dateFormat === 'mdy' || dateFormat === 'ymd' || dateFormat === 'ymd-compact')
    return { type: 'date', numberStyle, dateFormat };
  // A few unreadable values (typos, "n/a") do not make a numeric column text: those rows get rejected.
  const numbers = present.map((v) => parseNumber(v, numberStyle)).filter((n) => n !== undefined);
  if (numbers.length >= Math.max(1, present.length * 0.8)) {
    if (dateFormat !== undefined) {
      const ms = dateFormat === 'epoch-s' ? 1000 : 1;
      const plausible = numbers.every((n) => (n as number) * ms > Date.UTC(2000, 0, 1) && (n as number) * ms < Date.UTC(2100, 0, 1));
      if (plausible) return { type: 'date', numberStyle, dateFormat };
    }
    return {
      type: numbers.every((n) => Number.isInteger(n)) && present.every((v) => !/\d[.,]\d{1,2}$/.test(v)) ? 'integer' : 'decimal',
      numberStyle,
    };
  }
  return { type: 'text', numberStyle };
}

/** Detects the layout of a CSV from a sample of its first bytes (64 KiB is plenty). */
export function detectCsv(rawSample: string, isWholeFile = false): CsvDetection {
  const bom = rawSample.charCodeAt(0) === 0xfeff;
  const sample = completeLines(bom ? rawSample.slice(1) : rawSample, isWholeFile);
  const { delimiter, rows } = chooseDelimiter(sample);
  if (rows.length === 0) throw new LambdamartError('LM_ERR_IMPORT_FILE_EMPTY', 'the file has no rows');
  const width = Math.max(...rows.map((r) => r.length));
  const first = rows[0] as string[];
  const rest = rows.slice(1, 500);
  const typesOf = (body: string[][]) =>
    Array.from({ length: width }, (_, i) =>
      columnType(
        body.map((r) => r[i] ?? ''),
        delimiter,
      ),
    );
  const bodyTypes = typesOf(rest);
  // A header: every cell is non-empty text that is not a number or date, and (when there is a
  // body) some column below it holds numbers or dates, or its names are unique words.
  const firstTypes = typesOf([first]);
  const firstIsText = first.every((cell) => cell.trim() !== '') && firstTypes.every((t) => t.type === 'text');
  const bodyHasTyped = bodyTypes.some((t) => t.type !== 'text' && t.type !== 'empty');
  const uniqueNames = new Set(first.map((c) => c.trim().toLowerCase())).size === first.length;
  const hasHeader = firstIsText && (bodyHasTyped || rest.length === 0 || uniqueNames);
  const types = hasHeader ? bodyTypes : typesOf(rows.slice(0, 500));
  const columns = types.map((t, index) => ({
    index,
    name: hasHeader ? (first[index] ?? `column_${index + 1}`).trim() : `column_${index + 1}`,
    ...t,
  }));
  return { delimiter, hasHeader, bom, columns };
}
