/**
 * Validated events to the rows of the staging tables, as COPY text. Pure: the database side is in
 * store.ts. Duplicates inside one batch are dropped here (first one wins, as ON CONFLICT DO NOTHING
 * does for duplicates across batches).
 */
import type { CartEvent, CatalogRecord, ProductViewEvent, TransactionEvent } from '@lambdamart/core';
import { copyField, copyLine } from './copy-text.ts';

/** The first of each key, in order. */
export function uniqueBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  const unique: T[] = [];
  for (const item of items) {
    const k = key(item);
    if (seen.has(k)) continue;
    seen.add(k);
    unique.push(item);
  }
  return unique;
}

export interface StagingCopy {
  /** Staging table name -> COPY text of its rows. */
  tables: Record<string, string>;
  /** Events left after removing duplicates inside the batch. */
  events: number;
}

// Each table's rows are collected as lines and joined once: one flat string a table, instead of
// a rope of every field that lives (and is traced by the GC) until the COPY sends it.
const f = copyField;

export function transactionRows(events: readonly TransactionEvent[]): StagingCopy {
  const unique = uniqueBy(events, (e) => e.transaction_id);
  const transactions: string[] = new Array(unique.length);
  const items: string[] = [];
  for (let n = 0; n < unique.length; n++) {
    const e = unique[n] as TransactionEvent;
    const id = f(e.transaction_id);
    transactions[n] =
      `${id}\t${f(e.user_id)}\t${f(e.session_id)}\t${e.total_amount}\t${f(e.currency)}\t${f(e.payment_method)}\t` +
      `${f(e.country)}\t${f(e.transaction_timestamp)}\n`;
    for (let i = 0; i < e.products.length; i++) {
      const line = e.products[i] as TransactionEvent['products'][number];
      items.push(`${id}\t${i + 1}\t${f(line.product_id)}\t${line.quantity}\t${line.price}\n`);
    }
  }
  return { tables: { stage_transactions: transactions.join(''), stage_transaction_items: items.join('') }, events: unique.length };
}

export function productViewRows(events: readonly ProductViewEvent[]): StagingCopy {
  const unique = uniqueBy(events, (e) => e.event_id);
  const rows: string[] = new Array(unique.length);
  for (let n = 0; n < unique.length; n++) {
    const e = unique[n] as ProductViewEvent;
    rows[n] =
      `${f(e.event_id)}\t${f(e.user_id)}\t${f(e.product_id)}\t${f(e.session_id)}\t${e.view_duration}\t${f(e.country)}\t` +
      `${f(e.timestamp)}\n`;
  }
  return { tables: { stage_product_views: rows.join('') }, events: unique.length };
}

export function cartEventRows(events: readonly CartEvent[]): StagingCopy {
  const unique = uniqueBy(events, (e) => e.event_id);
  const rows: string[] = new Array(unique.length);
  for (let n = 0; n < unique.length; n++) {
    const e = unique[n] as CartEvent;
    rows[n] =
      `${f(e.event_id)}\t${f(e.event_type)}\t${f(e.user_id)}\t${f(e.product_id)}\t${f(e.session_id)}\t${e.quantity}\t` +
      `${e.price}\t${f(e.country)}\t${f(e.timestamp)}\n`;
  }
  return { tables: { stage_cart_events: rows.join('') }, events: unique.length };
}

export function catalogRows(records: readonly CatalogRecord[]): StagingCopy {
  // A catalog record is identified by (product_id, updated_at), like its primary key.
  const unique = uniqueBy(records, (r) => `${r.product_id}\u0000${Date.parse(r.updated_at)}`);
  const rows = unique.map((r) => copyLine([r.product_id, r.updated_at, r.name, r.category, r.price]));
  return { tables: { stage_catalog: rows.join('') }, events: unique.length };
}
