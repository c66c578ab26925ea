/**
 * Validated events to the rows of the staging tables, as COPY text. Pure: the database side is in
 * store.ts. Duplicates inside one batch are dropped here (first one wins, as ON CONFLICT DO NOTHING
 * does for duplicates across batches).
 */
import type { CartEvent, CatalogRecord, ProductViewEvent, TransactionEvent } from '@lambdamart/core';
import { copyLine } from './copy-text.ts';

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

export function transactionRows(events: readonly TransactionEvent[]): StagingCopy {
  const unique = uniqueBy(events, (e) => e.transaction_id);
  let transactions = '';
  let items = '';
  for (const e of unique) {
    transactions += copyLine([
      e.transaction_id,
      e.user_id,
      e.session_id,
      e.total_amount,
      e.currency,
      e.payment_method,
      e.country,
      e.transaction_timestamp,
    ]);
    e.products.forEach((line, i) => {
      items += copyLine([e.transaction_id, i + 1, line.product_id, line.quantity, line.price]);
    });
  }
  return { tables: { stage_transactions: transactions, stage_transaction_items: items }, events: unique.length };
}

export function productViewRows(events: readonly ProductViewEvent[]): StagingCopy {
  const unique = uniqueBy(events, (e) => e.event_id);
  let rows = '';
  for (const e of unique) {
    rows += copyLine([e.event_id, e.user_id, e.product_id, e.session_id, e.view_duration, e.country, e.timestamp]);
  }
  return { tables: { stage_product_views: rows }, events: unique.length };
}

export function cartEventRows(events: readonly CartEvent[]): StagingCopy {
  const unique = uniqueBy(events, (e) => e.event_id);
  let rows = '';
  for (const e of unique) {
    rows += copyLine([e.event_id, e.event_type, e.user_id, e.product_id, e.session_id, e.quantity, e.price, e.country, e.timestamp]);
  }
  return { tables: { stage_cart_events: rows }, events: unique.length };
}

export function catalogRows(records: readonly CatalogRecord[]): StagingCopy {
  // A catalog record is identified by (product_id, updated_at), like its primary key.
  const unique = uniqueBy(records, (r) => `${r.product_id}\u0000${Date.parse(r.updated_at)}`);
  let rows = '';
  for (const r of unique) rows += copyLine([r.product_id, r.updated_at, r.name, r.category, r.price]);
  return { tables: { stage_catalog: rows }, events: unique.length };
}
