/**
 * Reading a planned file's records (delimited or whitespace-aligned, each with its line number),
 * and the import's first pass over them: the content hash, the rows per transaction id, the earliest sale.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { parse } from 'csv-parse';
import { isWhitespaceDelimiter, splitWhitespaceLine } from './detect.ts';
import type { ImportPlan } from './plan.ts';
import { RowCounts } from './row-counts.ts';
import { parseDate } from './values.ts';

/** How both passes parse a delimited file: alike, so that they see the same records. */
function csvParseOptions(plan: ImportPlan) {
  return {
    delimiter: plan.detection.delimiter,
    bom: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
  };
}
/** One record of the file, or a piece of it the parser could not read. */
export type SourceItem = { record: string[]; raw: string; line: number } | { unreadable: string; line: number };

/**
 * The records of the file in order, header skipped, each with the line it starts on. `input` is
 * read once; `onBytes` sees every chunk (progress, the content hash).
 */
export async function* readRecords(plan: ImportPlan, input: Readable): AsyncGenerator<SourceItem> {
  const { delimiter, hasHeader } = plan.detection;
  let header = hasHeader;
  if (isWhitespaceDelimiter(delimiter)) {
    // No quoting in a whitespace-aligned export: a record is a line.
    const decoder = new StringDecoder('utf8');
    let rest = '';
    let line = 0;
    for await (const bytes of input as AsyncIterable<Buffer>) {
      const chunk = decoder.write(bytes);
      const text = line === 0 && rest === '' ? chunk.replace(/^\uFEFF/, '') : chunk;
      const lines = (rest + text).split('\n');
      rest = lines.pop() ?? '';
      for (const raw of lines) {
        line++;
        const record = splitWhitespaceLine(raw, delimiter);
        if (record.length === 0) continue;
        if (header) {
          header = false;
          continue;
        }
        yield { record, raw: raw.replace(/\r$/, ''), line };
      }
    }
    rest += decoder.end();
    line++;
    const record = splitWhitespaceLine(rest, delimiter);
    if (record.length > 0 && !header) yield { record, raw: rest.replace(/\r$/, ''), line };
    return;
  }
  const parser = input.pipe(parse({ ...csvParseOptions(plan), info: true, raw: true }));
  const parseErrors: { line: number; reason: string }[] = [];
  parser.on('skip', (error: { message: string; lines?: number }) => {
    parseErrors.push({ line: error.lines ?? 0, reason: `unreadable CSV: ${error.message}` });
  });
  let quotedCrlf = 0;
  for await (const { record, raw, info } of parser as AsyncIterable<{ record: string[]; raw: string; info: { lines: number } }>) {
    for (const error of parseErrors.splice(0)) yield { unreadable: error.reason, line: error.line };
    // Line numbers: csv-parse counts a CRLF inside quotes twice; the record starts where its newlines began.
    let newlines = 0;
    for (const field of record) {
      for (let i = field.indexOf('\n'); i >= 0; i = field.indexOf('\n', i + 1)) {
        newlines++;
        if (plan.crlf && field[i - 1] === '\r') quotedCrlf++;
      }
    }
    const line = info.lines - quotedCrlf - newlines;
    if (header) {
      header = false;
      continue;
    }
    yield { record, raw: raw.replace(/^[\r\n]+|[\r\n]+$/g, ''), line };
  }
  for (const error of parseErrors.splice(0)) yield { unreadable: error.reason, line: error.line };
}

/** A whitespace-aligned row with another number of cells than the header has shifted its columns. */
export function misaligned(plan: ImportPlan, record: readonly string[]): string | undefined {
  const width = plan.detection.columns.length;
  if (!isWhitespaceDelimiter(plan.detection.delimiter) || record.length === width) return undefined;
  return `columns: ${record.length} cells where the whitespace-aligned file has ${width} (an empty cell or a space inside one?)`;
}

export interface FirstPass {
  contentId: string;
  /** Rows per transaction id, for files whose lines share one and do not keep them together. */
  rowsPerTransaction?: RowCounts;
  /** Epoch ms of the earliest readable transaction time. */
  earliestSale?: number;
}

/** The first read: the content's hash, the rows of each transaction id, the earliest sale (`wantsSales`). */
export async function scanFile(
  plan: ImportPlan,
  grouped: boolean,
  wantsSales: boolean,
  onBytes: (bytes: number) => void,
  signal?: AbortSignal,
): Promise<FirstPass> {
  const hash = createHash('sha256');
  const input = createReadStream(plan.file);
  input.on('data', (chunk) => {
    hash.update(chunk);
    onBytes(chunk.length);
  });
  if (!grouped && !wantsSales) {
    await finished(input.resume());
    return { contentId: hash.digest('hex').slice(0, 32) };
  }
  const rowsPerTransaction = grouped ? new RowCounts() : undefined;
  const txIndex = plan.mapping.get('transaction_id') ?? -1;
  const timeIndex = plan.mapping.get('transaction_timestamp') ?? -1;
  const timeFormat = plan.detection.columns[timeIndex]?.dateFormat ?? 'iso';
  let earliest = Number.POSITIVE_INFINITY;
  // The second pass's parser settings (so it sees the same records), without raw text or line
  // info: less garbage, a lower peak of memory.
  const records: AsyncIterable<string[]> = isWhitespaceDelimiter(plan.detection.delimiter)
    ? (async function* () {
        for await (const item of readRecords(plan, input)) if (!('unreadable' in item)) yield item.record;
      })()
    : input.pipe(parse(csvParseOptions(plan)));
  let header = plan.detection.hasHeader && !isWhitespaceDelimiter(plan.detection.delimiter);
  let previous: string | undefined;
  let runs = 0;
  try {
    for await (const record of records) {
      if (signal?.aborted) break;
      if (header) {
        header = false;
        continue;
      }
      if (rowsPerTransaction) {
        const id = (record[txIndex] ?? '').trim();
        rowsPerTransaction.add(id);
        if (id !== previous) runs++;
        previous = id;
      }
      if (!wantsSales) continue;
      // A row without a readable time is rejected in the second pass; it dates nothing.
      const at = parseDate(record[timeIndex] ?? '', timeFormat);
      if (at !== undefined && at < earliest) earliest = at;
    }
  } finally {
    input.destroy();
  }
  return {
    contentId: hash.digest('hex').slice(0, 32),
    // As many runs of one id as ids: each id's rows are together, and a change of id closes one.
    rowsPerTransaction: rowsPerTransaction && runs > rowsPerTransaction.size ? rowsPerTransaction : undefined,
    earliestSale: Number.isFinite(earliest) ? earliest : undefined,
  };
}
