/**
 * `lambdamart import`: a CSV streamed through csv-parse with back-pressure (constant memory,
 * whatever the file size), each record validated against the contracts, valid ones sent as events,
 * rejected ones written with their line number and reason to a rejects file.
 */
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { finished } from 'node:stream/promises';
import { type EventKind, Topics, type TransactionLine, validateEvent } from '@lambdamart/core';
import { parse } from 'csv-parse';
import type { GeneratedEvent } from '../generate.ts';
import type { EventSink } from '../sinks.ts';
import {
  type CatalogEntry,
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
import { type CsvDetection, detectCsv } from './detect.ts';
import { type ColumnMapping, type ImportType, mapColumns, missingRequired } from './mapping.ts';

export interface ImportPlan {
  file: string;
  type: ImportType;
  detection: CsvDetection;
  mapping: ColumnMapping;
  /** Whether CRLF ends the lines (csv-parse counts a quoted CRLF as two lines; we correct for it). */
  crlf: boolean;
}

export interface ImportProgress {
  bytesRead: number;
  totalBytes: number;
  rows: number;
  sent: number;
  rejected: number;
}

export interface ImportSummary extends ImportProgress {
  elapsedMs: number;
  rejectsFile: string;
  /** Rejects by the field (or problem) their reason names first. */
  reasons: Record<string, number>;
}

export interface ImportOptions {
  type: ImportType;
  map?: [string, string][];
  rejectsFile: string;
  /** A products CSV whose prices complete basket-style transaction files. */
  productsFile?: string;
  /** Event time for catalog rows without a date (default: now). */
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
  if (sample.replace(/^\uFEFF/, '').trim() === '') throw new Error(`${file} is empty`);
  const detection = detectCsv(sample, whole);
  const mapping = mapColumns(type, detection.columns, map);
  const missing = missingRequired(type, mapping);
  if (missing.length > 0) {
    throw new Error(
      `cannot map ${missing.join(', ')} to a column of ${basename(file)} (columns: ${detection.columns.map((c) => c.name).join(', ')}); use --map column=field`,
    );
  }
  return { file, type, detection, mapping, crlf: /\r\n/.test(sample) };
}

/** The detected mapping as lines for a person: `price <- "Unit Price" (decimal, 1.234,56)`. */
export function describePlan(plan: ImportPlan): string[] {
  const d = plan.detection;
  const delimiter = d.delimiter === '\t' ? 'tab' : d.delimiter;
  const lines = [
    `${basename(plan.file)}: delimiter ${JSON.stringify(delimiter)}, ${d.hasHeader ? 'header row' : 'no header'}${d.bom ? ', UTF-8 BOM' : ''}${plan.crlf ? ', CRLF' : ''}`,
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
  return lines;
}

function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Loads a products CSV into a lookup by id and by name (a few hundred rows: memory is no concern). */
export async function loadProductLookup(file: string, importTime = Date.now()): Promise<ProductLookup> {
  const plan = await planImport(file, 'products');
  const lookup = new ProductLookup();
  const parser = createReadStream(file).pipe(
    parse({
      delimiter: plan.detection.delimiter,
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
      from_line: plan.detection.hasHeader ? 2 : 1,
    }),
  );
  let line = 0;
  for await (const record of parser as AsyncIterable<string[]>) {
    line++;
    const ctx: RowContext = {
      type: 'products',
      columns: plan.detection.columns,
      mapping: plan.mapping,
      source: basename(file),
      line,
      importTime,
    };
    try {
      const result = validateEvent('catalog', toCatalogRecord(ctx, record));
      if (result.ok) lookup.add(result.value);
    } catch {
      // A bad catalog row just leaves that product unknown; its transactions are rejected with that reason.
    }
  }
  return lookup;
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
  const source = basename(plan.file);
  const importTime = options.importTime ?? Date.now();
  const batchSize = options.batchSize ?? 2000;
  const maxInFlight = options.maxInFlight ?? 4;
  const catalog = options.productsFile ? await loadProductLookup(options.productsFile, importTime) : undefined;
  const totalBytes = statSync(plan.file).size;
  const progress: ImportProgress = { bytesRead: 0, totalBytes, rows: 0, sent: 0, rejected: 0 };
  const reasons: Record<string, number> = {};

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
  let pending: PendingTransaction | undefined;
  const closeTransaction = async (tx: PendingTransaction) => {
    const failed = tx.rows.find((r) => r.error !== undefined);
    let reason = failed ? `${failed.error}` : undefined;
    let event: GeneratedEvent['event'] | undefined;
    if (!reason) {
      const ctx: RowContext = {
        type,
        columns: plan.detection.columns,
        mapping: plan.mapping,
        source,
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

  const input = createReadStream(plan.file);
  input.on('data', (chunk) => {
    progress.bytesRead += chunk.length;
  });
  const parser = input.pipe(
    parse({
      delimiter: plan.detection.delimiter,
      bom: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      info: true,
      raw: true,
    }),
  );
  const parseErrors: { line: number; reason: string; raw: string }[] = [];
  parser.on('skip', (error: { message: string; lines?: number }) => {
    parseErrors.push({ line: error.lines ?? 0, reason: `unreadable CSV: ${error.message}`, raw: '' });
  });

  let quotedCrlf = 0;
  let header = plan.detection.hasHeader;
  const grouped = type === 'transactions' && plan.mapping.has('transaction_id') && !plan.mapping.has('items');
  let lastReport = 0;
  try {
    for await (const { record, raw, info } of parser as AsyncIterable<{ record: string[]; raw: string; info: { lines: number } }>) {
      if (options.signal?.aborted) break;
      for (const error of parseErrors.splice(0)) await reject(error.line, error.reason, error.raw);
      // Line numbers: csv-parse counts a CRLF inside quotes twice; the record starts where its newlines began.
      let newlines = 0;
      for (const field of record) {
        for (let i = field.indexOf('\n'); i >= 0; i = field.indexOf('\n', i + 1)) {
          newlines++;
          if (plan.crlf && field[i - 1] === '\r') quotedCrlf++;
        }
      }
      const endLine = info.lines - quotedCrlf;
      const line = endLine - newlines;
      if (header) {
        header = false;
        continue;
      }
      progress.rows++;
      const ctx: RowContext = { type, columns: plan.detection.columns, mapping: plan.mapping, source, line, importTime, catalog };
      const rawLine = raw.replace(/^[\r\n]+|[\r\n]+$/g, '');
      if (type === 'transactions') {
        const key = grouped ? (record[plan.mapping.get('transaction_id') as number] ?? '').trim() : `line-${line}`;
        if (pending && pending.key !== key) {
          await closeTransaction(pending);
          pending = undefined;
        }
        pending ??= { key, first: record, firstLine: line, rows: [], lines: [] };
        const row: PendingTransaction['rows'][number] = { line, raw: rawLine };
        try {
          pending.lines.push(...transactionLines(ctx, record));
          const totalIndex = plan.mapping.get('total_amount');
          if (totalIndex !== undefined && (record[totalIndex] ?? '').trim() !== '' && !grouped) {
            pending.declaredTotal = new RowReader(ctx, record).number('total_amount');
          }
        } catch (error) {
          row.error = (error as Error).message;
        }
        pending.rows.push(row);
        if (!grouped) {
          await closeTransaction(pending);
          pending = undefined;
        }
      } else {
        try {
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
      const now = performance.now();
      if (options.onProgress && now - lastReport > 200) {
        lastReport = now;
        options.onProgress(progress);
      }
    }
    if (pending) await closeTransaction(pending);
    for (const error of parseErrors.splice(0)) await reject(error.line, error.reason, error.raw);
    await flush();
  } finally {
    input.destroy();
    await Promise.allSettled([...inFlight]);
    rejects.end();
    await finished(rejects).catch(() => undefined);
  }
  if (failure !== undefined) throw failure;
  options.onProgress?.(progress);
  return { ...progress, elapsedMs: performance.now() - started, rejectsFile: options.rejectsFile, reasons };
}

export type { CatalogEntry };
