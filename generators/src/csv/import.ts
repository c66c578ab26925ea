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
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { finished } from 'node:stream/promises';
import { type EventKind, Topics, type TransactionLine, validateEvent } from '@lambdamart/core';
import type { GeneratedEvent } from '../generated-event.ts';
import type { EventSink } from '../sinks.ts';
import {
  type CatalogEntry,
  isOrderLevel,
  orderLevelCatalogRecord,
  type RowContext,
  RowError,
  RowReader,
  toCartEvent,
  toCatalogRecord,
  toTransaction,
  toView,
  transactionLines,
} from './convert.ts';
import type { ImportType } from './mapping.ts';
import type { ImportPlan } from './plan.ts';
import { loadProductCatalog } from './product-catalog.ts';
import { misaligned, readRecords, scanFile } from './read-records.ts';

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
const kindOf: Record<ImportType, EventKind> = { transactions: 'transaction', products: 'catalog', views: 'view', carts: 'cart' };
const topicOf: Record<ImportType, string> = {
  transactions: Topics.transactions.name,
  products: Topics.productCatalog.name,
  views: Topics.productViews.name,
  carts: Topics.cartEvents.name,
};
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
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
