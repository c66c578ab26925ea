/**
 * One CSV record to one event (or, for transactions, lines gathered into one event). Values are
 * read with the detected types; whatever the contract refuses becomes a reject with its reason.
 */
import { createHash } from 'node:crypto';
import type { CartEvent, CatalogRecord, ProductViewEvent, TransactionEvent, TransactionLine } from '@lambdamart/core';
import type { DetectedColumn } from './detect.ts';
import type { ColumnMapping, ImportType } from './mapping.ts';
import { parseDate, parseNumber } from './values.ts';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** A name-based (version 5 style) UUID: the same source id always gives the same event id, so a re-import is idempotent. */
export function deriveUuid(name: string): string {
  const h = createHash('sha1').update(name).digest('hex');
  const variant = ((Number.parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}

export function idOrDerived(value: string | undefined, namespace: string, fallback: string): string {
  if (value && uuidPattern.test(value)) return value.toLowerCase();
  return deriveUuid(value ? `${namespace}:${value}` : `${namespace}:${fallback}`);
}

export class RowError extends Error {}

/** A product id from a name: `Whole Milk 1L` -> `whole-milk-1l`. */
export function slugify(text: string): string {
  return text
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 100);
}

export interface CatalogEntry {
  productId: string;
  price: number;
}

/** A product catalog for transaction files that name items without prices (Purchases.csv style). */
export class ProductLookup {
  private readonly byKey = new Map<string, CatalogEntry>();

  add(record: CatalogRecord): void {
    const entry = { productId: record.product_id, price: record.price };
    this.byKey.set(record.product_id.toLowerCase(), entry);
    this.byKey.set(record.name.trim().toLowerCase(), entry);
    this.byKey.set(slugify(record.name), entry);
  }

  find(item: string): CatalogEntry | undefined {
    const key = item.trim().toLowerCase();
    return this.byKey.get(key) ?? this.byKey.get(slugify(item));
  }

  get size(): number {
    return this.byKey.size;
  }
}

export interface RowContext {
  type: ImportType;
  columns: readonly DetectedColumn[];
  mapping: ColumnMapping;
  /**
   * Names the source in derived ids: a hash of the file's content (`contentId`), so that a
   * re-import of the same file gives the same ids and another file (another day's export with
   * the same name) never collides with it.
   */
  sourceId: string;
  line: number;
  /** Event time of catalog rows without a date (the earliest sale, when the transactions are known). */
  importTime: number;
  catalog?: ProductLookup;
}

/**
 * The product that order-level rows (customer, date, quantity, amount; no product column) are
 * sold as, one line per order, so that RFM and sales trends work on such files.
 */
export const OrderLevelProduct = {
  product_id: 'order-level',
  name: 'Order-level purchase (the source names no product)',
  category: 'Uncategorized',
} as const;

/** The placeholder's catalog record: price 0, since each order-level line carries its own price. */
export function orderLevelCatalogRecord(time: number): CatalogRecord {
  return { ...OrderLevelProduct, price: 0, updated_at: new Date(time).toISOString() };
}

/**
 * An order's amount as lines of the placeholder product: price = amount / quantity in whole
 * cents; when that does not divide evenly the remaining cents go to a second line at one cent
 * more (10.00 for 3 units: 2 x 3.33 and 1 x 3.34), so the lines add up to the amount exactly.
 */
export function orderLevelLines(amount: number, quantity: number): TransactionLine[] {
  if (!Number.isInteger(quantity) || quantity < 1) throw new RowError(`quantity: ${quantity} is not a whole number of units >= 1`);
  if (amount < 0) throw new RowError(`total_amount: ${amount} is negative (a return?): not a sale`);
  const cents = Math.round(amount * 100);
  const base = Math.floor(cents / quantity);
  const over = cents - base * quantity;
  const lines: TransactionLine[] = [];
  if (quantity - over > 0) lines.push({ product_id: OrderLevelProduct.product_id, quantity: quantity - over, price: base / 100 });
  if (over > 0) lines.push({ product_id: OrderLevelProduct.product_id, quantity: over, price: (base + 1) / 100 });
  return lines;
}

/** Whether a transactions mapping has neither products nor baskets: each row is a whole order of the placeholder. */
export function isOrderLevel(type: ImportType, mapping: ColumnMapping): boolean {
  return type === 'transactions' && !mapping.has('product_id') && !mapping.has('items') && mapping.has('total_amount');
}

export class RowReader {
  constructor(
    private readonly ctx: RowContext,
    private readonly record: readonly string[],
  ) {}

  has(field: string): boolean {
    const v = this.text(field);
    return v !== undefined && v !== '';
  }

  text(field: string): string | undefined {
    const index = this.ctx.mapping.get(field);
    return index === undefined ? undefined : this.record[index]?.trim();
  }

  required(field: string): string {
    const v = this.text(field);
    if (v === undefined || v === '') throw new RowError(`${field}: missing`);
    return v;
  }

  number(field: string, fallback?: number): number {
    const v = this.text(field);
    if (v === undefined || v === '') {
      if (fallback !== undefined) return fallback;
      throw new RowError(`${field}: missing`);
    }
    const column = this.ctx.columns[this.ctx.mapping.get(field) as number];
    const n = parseNumber(v, column?.numberStyle ?? 'dot');
    if (n === undefined) throw new RowError(`${field}: "${v}" is not a number`);
    return n;
  }

  time(field: string, fallback?: number): string {
    const v = this.text(field);
    if (v === undefined || v === '') {
      if (fallback !== undefined) return new Date(fallback).toISOString();
      throw new RowError(`${field}: missing`);
    }
    const column = this.ctx.columns[this.ctx.mapping.get(field) as number];
    const format = column?.dateFormat ?? 'iso';
    const t = parseDate(v, format);
    if (t === undefined) throw new RowError(`${field}: "${v}" is not a date in the detected format (${format})`);
    return new Date(t).toISOString();
  }

  /** A country, or the store/branch a supermarket file gives instead (`1` becomes `branch_1`). */
  country(): string {
    const v = this.text('country');
    if (v === undefined || v === '') return 'unknown';
    if (v.length >= 2) return v;
    const column = this.ctx.columns[this.ctx.mapping.get('country') as number];
    return `${slugify(column?.name ?? 'branch') || 'branch'}_${v}`;
  }
}

export function toCatalogRecord(ctx: RowContext, record: readonly string[]): CatalogRecord {
  const row = new RowReader(ctx, record);
  const name = row.text('name') || row.required('product_id');
  return {
    product_id: row.text('product_id') || slugify(name),
    name,
    category: row.text('category') || 'Uncategorized',
    price: row.number('price'),
    updated_at: row.time('updated_at', ctx.importTime),
  };
}

export function toView(ctx: RowContext, record: readonly string[]): ProductViewEvent {
  const row = new RowReader(ctx, record);
  const user = row.required('user_id');
  const timestamp = row.time('timestamp');
  return {
    event_id: idOrDerived(row.text('event_id'), `view:${ctx.sourceId}`, String(ctx.line)),
    event_type: 'view',
    user_id: user,
    product_id: row.required('product_id'),
    session_id: row.text('session_id') || `${user}-${timestamp.slice(0, 10)}`,
    view_duration: Math.round(row.number('view_duration', 0)),
    country: row.country(),
    timestamp,
  };
}

const cartActions: Record<string, 'add' | 'remove'> = {
  add: 'add',
  added: 'add',
  add_to_cart: 'add',
  addtocart: 'add',
  cart: 'add',
  remove: 'remove',
  removed: 'remove',
  remove_from_cart: 'remove',
  removefromcart: 'remove',
};

export function toCartEvent(ctx: RowContext, record: readonly string[]): CartEvent {
  const row = new RowReader(ctx, record);
  const user = row.required('user_id');
  const timestamp = row.time('timestamp');
  const action = (row.text('event_type') || 'add').toLowerCase().replace(/[\s-]+/g, '_');
  const eventType = cartActions[action];
  if (!eventType) throw new RowError(`event_type: "${row.text('event_type')}" is neither add nor remove`);
  return {
    event_id: idOrDerived(row.text('event_id'), `cart:${ctx.sourceId}`, String(ctx.line)),
    event_type: eventType,
    user_id: user,
    product_id: row.required('product_id'),
    session_id: row.text('session_id') || `${user}-${timestamp.slice(0, 10)}`,
    quantity: row.number('quantity', 1),
    price: row.number('price'),
    country: row.country(),
    timestamp,
  };
}

/**
 * Lines of one transaction row: a basket cell (`Milk;Bread`), one product with its quantity and
 * price, or (order-level rows) the placeholder product for the row's amount.
 */
export function transactionLines(ctx: RowContext, record: readonly string[]): TransactionLine[] {
  const row = new RowReader(ctx, record);
  if (isOrderLevel(ctx.type, ctx.mapping)) return orderLevelLines(row.number('total_amount'), row.number('quantity', 1));
  if (row.has('items')) {
    const items = (row.text('items') as string)
      .split(/[;|,]/)
      .map((s) => s.trim())
      .filter(Boolean);
    if (items.length === 0) throw new RowError('items: empty basket');
    const lines = new Map<string, TransactionLine>();
    for (const item of items) {
      const known = ctx.catalog?.find(item);
      if (!known) {
        throw new RowError(
          ctx.catalog
            ? `items: unknown product "${item}" (not in the --products catalog)`
            : `items: no price for "${item}" (give the catalog with --products)`,
        );
      }
      const line = lines.get(known.productId);
      if (line) line.quantity++;
      else lines.set(known.productId, { product_id: known.productId, quantity: 1, price: known.price });
    }
    return [...lines.values()];
  }
  const productId = row.required('product_id');
  const known = ctx.catalog?.find(productId);
  const price = row.has('price') ? row.number('price') : known?.price;
  if (price === undefined) throw new RowError('price: missing (and the product is not in a --products catalog)');
  return [{ product_id: known?.productId ?? productId, quantity: row.number('quantity', 1), price }];
}

/** The transaction of one or more rows (rows of a line-per-item file share a transaction id). */
export function toTransaction(
  ctx: RowContext,
  first: readonly string[],
  lines: TransactionLine[],
  declaredTotal?: number,
): TransactionEvent {
  const row = new RowReader(ctx, first);
  const user = row.required('user_id');
  const sourceId = row.text('transaction_id');
  const transactionId = idOrDerived(sourceId, `transaction:${sourceId ? '' : ctx.sourceId}`, String(ctx.line));
  const cents = lines.reduce((sum, line) => sum + Math.round(line.price * 100) * line.quantity, 0);
  return {
    transaction_id: transactionId,
    user_id: user,
    session_id: row.text('session_id') || `csv-${transactionId}`,
    products: lines,
    total_amount: declaredTotal ?? cents / 100,
    currency: (row.text('currency') || 'USD').toUpperCase(),
    payment_method: row.text('payment_method') || 'unknown',
    country: row.country(),
    transaction_timestamp: row.time('transaction_timestamp'),
  };
}
