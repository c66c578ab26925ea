/**
 * `lambdamart import`: a CSV (or a whitespace-aligned text export) read twice, each time streamed
 * with back-pressure: a first pass hashes the content (the ids derived for rows without one name
 * it), counts the rows of each transaction id and finds the earliest sale; the second validates
 * every record against the contracts, sends the valid ones as events and writes rejected ones with
 * their line number and reason to a rejects file.
 *
 * Why two passes: a line-per-item file's invoice must become one event however its lines are
 * spread through the file. Buffering every invoice until the end would hold the whole file in
 * memory; sorting it externally would write it out again. Counting first costs a second read and
 * 10 to 19 bytes per invoice (RowCounts), and the second pass sends each invoice as soon as its
 * last line is read, so only the invoices open at that moment are held (one, in a file that keeps
 * them together).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { type CatalogRecord, type EventKind, LambdamartError, Topics, type TransactionLine, validateEvent } from '@lambdamart/core';
import { parse } from 'csv-parse';
import type { GeneratedEvent } from '../generated-event.ts';
import type { EventSink } from '../sinks.ts';
import {
  type CatalogEntry,
  isOrderLevel,
  OrderLevelProduct,
  orderLevelCatalogRecord,
  ProductLookup,
  type RowContext,
  RowError,
  RowReader,
  toCartEvent,
  toCatalogRecord,
  toTransaction,
  toView,
  transactionLines,
} from './convert.ts';
import { type CsvDetection, detectCsv, isWhitespaceDelimiter, splitWhitespaceLine } from './detect.ts';
import { type ColumnMapping, type ImportType, mapColumns, missingRequired } from './mapping.ts';
import { RowCounts } from './row-counts.ts';
import { parseDate } from './values.ts';

export interface ImportPlan {
  file: string;
  type: ImportType;
  detection: CsvDetection;
  mapping: ColumnMapping;
  /** Whether CRLF ends the lines (csv-parse counts a quoted CRLF as two lines; we correct for it). */
  crlf: boolean;
}

export interface ImportProgress {
  /** `scan`: the first read (hash, row counts, earliest sale); `import`: the second, which sends. */
  pass: 'scan' | 'import';
  /** Bytes read by the current pass. */
  bytesRead: number;
  totalBytes: number;
  rows: number;
  sent: number;
  rejected: number;
  /** Catalog records sent with a transactions import (the --products file, the order-level placeholder). */
  catalogSent: number;
}

export interface ImportSummary extends ImportProgress {
  elapsedMs: number;
  rejectsFile: string;
  /** Rejects by the field (or problem) their reason names first. */
  reasons: Record<string, number>;
  /** The hash of the file's content that derived ids are made from. */
  contentId: string;
  /** The earliest sale of a transactions file (ISO), which dates catalog rows without a date. */
  earliestSale?: string;
}

export interface ImportOptions {
  type: ImportType;
  map?: [string, string][];
  rejectsFile: string;
  /**
   * A products CSV: its prices complete basket-style transaction files, and its rows are sent as
   * catalog records, those without a date dated from the earliest sale of the transactions file.
   */
  productsFile?: string;
  /** Event time of catalog rows without a date when there is no sale to date them from (default: now). */
  importTime?: number;
  batchSize?: number;
  maxInFlight?: number;
  onProgress?: (progress: ImportProgress) => void;
  signal?: AbortSignal;
}

const SampleBytes = 64 * 1024;

const kindOf: Record<ImportType, EventKind> = { transactions: 'transaction', products: 'catalog', views: 'view', carts: 'cart' };
const topicOf: Record<ImportType, string> = {
  transactions: Topics.transactions.name,
  products: Topics.productCatalog.name,
  views: Topics.productViews.name,
  carts: Topics.cartEvents.name,
};

/** Reads the first 64 KiB, detects the layout and maps the columns; throws a one-line Error when it cannot. */
export async function planImport(file: string, type: ImportType, map: [string, string][] = []): Promise<ImportPlan> {
  const handle = await open(file, 'r');
  let sample: string;
  let whole: boolean;
  try {
    const buffer = Buffer.alloc(SampleBytes);
    const { bytesRead } = await handle.read(buffer, 0, SampleBytes, 0);
    whole = bytesRead < SampleBytes;
    sample = buffer.subarray(0, bytesRead).toString('utf8');
    // A multi-byte character cut at the end of the sample decodes as U+FFFD: drop it.
    if (!whole) sample = sample.replace(/\uFFFD+$/, '');
  } finally {
    await handle.close();
  }
  if (sample.replace(/^\uFEFF/, '').trim() === '') throw new LambdamartError('LM_ERR_IMPORT_FILE_EMPTY', `${file} is empty`);
  const detection = detectCsv(sample, whole);
  const mapping = mapColumns(type, detection.columns, map);
  const missing = missingRequired(type, mapping);
  if (missing.length > 0) {
    throw new LambdamartError(
      'LM_ERR_IMPORT_FIELD_UNMAPPED',
      `cannot map ${missing.join(', ')} to a column of ${basename(file)} (columns: ${detection.columns.map((c) => c.name).join(', ')}); use --map column=field`,
    );
  }
  return { file, type, detection, mapping, crlf: /\r\n/.test(sample) };
}

const delimiterNames: Record<string, string> = {
  '\t': 'tab',
  spaces: 'whitespace-aligned (runs of 2+ spaces)',
  whitespace: 'whitespace-aligned (any spaces)',
};

/** The detected mapping as lines for a person: `price <- "Unit Price" (decimal, 1.234,56)`. */
export function describePlan(plan: ImportPlan): string[] {
  const d = plan.detection;
  const delimiter = delimiterNames[d.delimiter] ?? JSON.stringify(d.delimiter);
  const lines = [
    `${basename(plan.file)}: ${isWhitespaceDelimiter(d.delimiter) ? delimiter : `delimiter ${delimiter}`}, ${d.hasHeader ? 'header row' : 'no header'}${d.bom ? ', UTF-8 BOM' : ''}${plan.crlf ? ', CRLF' : ''}`,
  ];
  for (const [field, index] of plan.mapping) {
    const c = d.columns[index];
    if (!c) continue;
    const detail =
      c.type === 'date'
        ? `date, ${c.dateFormat}`
        : c.type === 'decimal' || c.type === 'integer'
          ? `${c.type}, ${c.numberStyle === 'comma' ? '1.234,5' : '1,234.5'}`
          : c.type;
    lines.push(`  ${field.padEnd(22)} <- ${JSON.stringify(c.name)} (${detail})`);
  }
  if (isOrderLevel(plan.type, plan.mapping)) {
    lines.push(
      `  ${'product_id'.padEnd(22)} <- none: order-level rows, each one line of "${OrderLevelProduct.product_id}" at amount / quantity`,
    );
  }
  if (plan.type === 'products' && !plan.mapping.has('updated_at')) {
    lines.push(
      `  ${'updated_at'.padEnd(22)} <- none: dated at the import time (give this file as --products of the transactions import to date it from the earliest sale)`,
    );
  }
  return lines;
}

function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

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
type SourceItem = { record: string[]; raw: string; line: number } | { unreadable: string; line: number };

/**
 * The records of the file in order, header skipped, each with the line it starts on. `input` is
 * read once; `onBytes` sees every chunk (progress, the content hash).
 */
async function* readRecords(plan: ImportPlan, input: Readable): AsyncGenerator<SourceItem> {
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
function misaligned(plan: ImportPlan, record: readonly string[]): string | undefined {
  const width = plan.detection.columns.length;
  if (!isWhitespaceDelimiter(plan.detection.delimiter) || record.length === width) return undefined;
  return `columns: ${record.length} cells where the whitespace-aligned file has ${width} (an empty cell or a space inside one?)`;
}

interface FirstPass {
  contentId: string;
  /** Rows per transaction id, for files whose lines share one and do not keep them together. */
  rowsPerTransaction?: RowCounts;
  /** Epoch ms of the earliest readable transaction time. */
  earliestSale?: number;
}

/** The first read: the content's hash, the rows of each transaction id, the earliest sale (`wantsSales`). */
async function scanFile(
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

/** A products CSV as a lookup by id and name, and its valid rows as catalog records (a few hundred rows). */
export async function loadProductCatalog(
  file: string,
  undatedTime = Date.now(),
): Promise<{ lookup: ProductLookup; records: CatalogRecord[] }> {
  const plan = await planImport(file, 'products');
  const lookup = new ProductLookup();
  const records: CatalogRecord[] = [];
  const input = createReadStream(file);
  try {
    for await (const item of readRecords(plan, input)) {
      if ('unreadable' in item) continue;
      const ctx: RowContext = {
        type: 'products',
        columns: plan.detection.columns,
        mapping: plan.mapping,
        sourceId: '',
        line: item.line,
        importTime: undatedTime,
      };
      try {
        const result = validateEvent('catalog', toCatalogRecord(ctx, item.record));
        if (result.ok) {
          lookup.add(result.value);
          records.push(result.value);
        }
      } catch {
        // A bad catalog row just leaves that product unknown; its transactions are rejected with that reason.
      }
    }
  } finally {
    input.destroy();
  }
  return { lookup, records };
}

/** Loads a products CSV into a lookup by id and by name. */
export async function loadProductLookup(file: string, importTime = Date.now()): Promise<ProductLookup> {
  return (await loadProductCatalog(file, importTime)).lookup;
}

interface PendingTransaction {
  key: string;
  first: string[];
  firstLine: number;
  rows: { line: number; raw: string; error?: string }[];
  lines: TransactionLine[];
  declaredTotal?: number;
}

/** Streams the file into the sink; resolves with counts once everything sent is acknowledged. */
export async function importCsv(plan: ImportPlan, sink: EventSink, options: ImportOptions): Promise<ImportSummary> {
  const started = performance.now();
  const { type } = plan;
  const kind = kindOf[type];
  const topic = topicOf[type];
  const importTime = options.importTime ?? Date.now();
  const batchSize = options.batchSize ?? 2000;
  const maxInFlight = options.maxInFlight ?? 4;
  const totalBytes = statSync(plan.file).size;
  const progress: ImportProgress = { pass: 'scan', bytesRead: 0, totalBytes, rows: 0, sent: 0, rejected: 0, catalogSent: 0 };
  let lastReport = 0;
  const report = () => {
    const now = performance.now();
    if (options.onProgress && now - lastReport > 200) {
      lastReport = now;
      options.onProgress(progress);
    }
  };
  const reasons: Record<string, number> = {};
  const grouped = type === 'transactions' && plan.mapping.has('transaction_id') && !plan.mapping.has('items');
  const orderLevel = isOrderLevel(type, plan.mapping);

  // Catalog records go with the sales when there is a catalog to send: the products file, the placeholder.
  const sendsCatalog = type === 'transactions' && (options.productsFile !== undefined || orderLevel);
  const scan = await scanFile(
    plan,
    grouped,
    sendsCatalog,
    (bytes) => {
      progress.bytesRead += bytes;
      report();
    },
    options.signal,
  );
  progress.pass = 'import';
  progress.bytesRead = 0;
  const sourceId = scan.contentId;
  // Catalog rows without a date are dated from the earliest sale: the sales of the file then fall
  // inside a version of their product rather than before all of them ('Unknown').
  const undatedTime = scan.earliestSale ?? importTime;
  const products = sendsCatalog && options.productsFile ? await loadProductCatalog(options.productsFile, undatedTime) : undefined;
  const catalog = products?.lookup;
  const catalogRecords = [...(products?.records ?? []), ...(orderLevel ? [orderLevelCatalogRecord(undatedTime)] : [])];
  if (catalogRecords.length > 0 && !options.signal?.aborted) {
    await sink.write(
      catalogRecords.map((record) => ({
        kind: 'catalog',
        topic: Topics.productCatalog.name,
        key: record.product_id,
        time: 0,
        event: record,
      })),
      catalogRecords.map((record) => JSON.stringify(record)),
    );
    progress.catalogSent = catalogRecords.length;
  }

  const rejects = createWriteStream(options.rejectsFile);
  rejects.write('line,reason,record\n');
  const reject = async (line: number, reason: string, raw: string) => {
    progress.rejected++;
    const field = /^([a-z_]+(\[\d+\])?(\.[a-z_]+)?):/.exec(reason)?.[1]?.replace(/\[\d+\]/, '[]') ?? reason.split(':')[0] ?? 'other';
    reasons[field] = (reasons[field] ?? 0) + 1;
    if (!rejects.write(`${line},${csvField(reason)},${csvField(raw.replace(/\r?\n$/, ''))}\n`))
      await new Promise<void>((resolve) => rejects.once('drain', () => resolve()));
  };

  let batch: GeneratedEvent[] = [];
  let values: string[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  const flush = async () => {
    if (batch.length === 0) return;
    const count = batch.length;
    const sending = sink.write(batch, values).then(
      () => {
        progress.sent += count;
      },
      (error: unknown) => {
        failure ??= error;
      },
    );
    const tracked = sending.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    batch = [];
    values = [];
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    if (failure !== undefined) throw failure;
  };
  const emit = async (event: GeneratedEvent['event'], key: string) => {
    const value = JSON.stringify(event);
    batch.push({ kind, topic, key, time: 0, event } as GeneratedEvent);
    values.push(value);
    if (batch.length >= batchSize) await flush();
  };

  // Validates and sends one finished transaction, or rejects each of its rows.
  const closeTransaction = async (tx: PendingTransaction) => {
    const failed = tx.rows.find((r) => r.error !== undefined);
    let reason = failed ? `${failed.error}` : undefined;
    let event: GeneratedEvent['event'] | undefined;
    if (!reason) {
      const ctx: RowContext = {
        type,
        columns: plan.detection.columns,
        mapping: plan.mapping,
        sourceId,
        line: tx.firstLine,
        importTime,
        catalog,
      };
      try {
        const result = validateEvent('transaction', toTransaction(ctx, tx.first, tx.lines, tx.declaredTotal));
        if (result.ok) event = result.value;
        else reason = result.reason;
      } catch (error) {
        reason = (error as Error).message;
      }
    }
    if (event) {
      await emit(event, (event as { user_id: string }).user_id);
      return;
    }
    for (const row of tx.rows) {
      await reject(
        row.line,
        row.error ?? (failed ? `transaction ${tx.key}: rejected with its line ${failed.line}` : (reason as string)),
        row.raw,
      );
    }
  };

  // Transactions whose last row is still to come, by id (in a file that keeps them together, one).
  const open = new Map<string, PendingTransaction>();
  const input = createReadStream(plan.file);
  input.on('data', (chunk) => {
    progress.bytesRead += chunk.length;
  });
  try {
    for await (const item of readRecords(plan, input)) {
      if (options.signal?.aborted) break;
      if ('unreadable' in item) {
        await reject(item.line, item.unreadable, '');
        continue;
      }
      const { record, line } = item;
      const rawLine = item.raw;
      progress.rows++;
      const ctx: RowContext = { type, columns: plan.detection.columns, mapping: plan.mapping, sourceId, line, importTime, catalog };
      const shifted = misaligned(plan, record);
      if (type === 'transactions') {
        const key = grouped ? (record[plan.mapping.get('transaction_id') as number] ?? '').trim() : `line-${line}`;
        if (grouped && !scan.rowsPerTransaction && !open.has(key)) {
          // Every id's rows are together (the first pass saw so): a new id closes the last one.
          for (const done of open.values()) await closeTransaction(done);
          open.clear();
        }
        let pending = open.get(key);
        if (!pending) {
          pending = { key, first: record, firstLine: line, rows: [], lines: [] };
          open.set(key, pending);
        }
        const row: PendingTransaction['rows'][number] = { line, raw: rawLine };
        try {
          if (shifted) throw new RowError(shifted);
          pending.lines.push(...transactionLines(ctx, record));
          const totalIndex = plan.mapping.get('total_amount');
          if (totalIndex !== undefined && (record[totalIndex] ?? '').trim() !== '' && !grouped && !orderLevel) {
            pending.declaredTotal = new RowReader(ctx, record).number('total_amount');
          }
        } catch (error) {
          if (!(error instanceof RowError)) throw error;
          row.error = error.message;
        }
        pending.rows.push(row);
        // Grouped: sent once its last row is read (the first pass counted them); else a row is a transaction.
        if (!grouped || scan.rowsPerTransaction?.take(key) === 0) {
          open.delete(key);
          await closeTransaction(pending);
        }
      } else {
        try {
          if (shifted) throw new RowError(shifted);
          const event =
            type === 'products' ? toCatalogRecord(ctx, record) : type === 'views' ? toView(ctx, record) : toCartEvent(ctx, record);
          const result = validateEvent(kind, event);
          if (result.ok)
            await emit(
              result.value,
              type === 'products' ? (result.value as { product_id: string }).product_id : (result.value as { user_id: string }).user_id,
            );
          else await reject(line, result.reason, rawLine);
        } catch (error) {
          if (!(error instanceof RowError)) throw error;
          await reject(line, error.message, rawLine);
        }
      }
      report();
    }
    // Transactions still open (two ids sharing a hash, or an interrupted read): sent as they are.
    if (!options.signal?.aborted) for (const pending of open.values()) await closeTransaction(pending);
    await flush();
  } finally {
    input.destroy();
    await Promise.allSettled([...inFlight]);
    rejects.end();
    await finished(rejects).catch(() => undefined);
  }
  if (failure !== undefined) throw failure;
  options.onProgress?.(progress);
  return {
    ...progress,
    elapsedMs: performance.now() - started,
    rejectsFile: options.rejectsFile,
    reasons,
    contentId: sourceId,
    earliestSale: scan.earliestSale === undefined ? undefined : new Date(scan.earliestSale).toISOString(),
  };
}

export type { CatalogEntry };
