/**
 * From CSV columns to contract fields. Header names are matched against the usual aliases
 * (`customer_id` is user_id, `unit_price` is price, `items_list` is a basket of product names);
 * `--map column=field` overrides or fills in what the names do not say.
 */
import { LambdamartError } from '@lambdamart/core';
import type { DetectedColumn } from './detect.ts';

export const ImportTypes = ['transactions', 'products', 'views', 'carts'] as const;
export type ImportType = (typeof ImportTypes)[number];

/** The fields each import type understands, each with the header names it answers to. */
export const FieldAliases: Record<ImportType, Record<string, string[]>> = {
  products: {
    product_id: ['product_id', 'productid', 'id', 'sku', 'product_code', 'item_id', 'code', 'stock_code'],
    name: ['name', 'product_name', 'productname', 'product', 'title', 'item', 'item_name', 'description'],
    category: ['category', 'product_category', 'category_name', 'department', 'group', 'type'],
    price: ['price', 'unit_price', 'unitprice', 'list_price', 'price_usd', 'amount'],
    updated_at: ['updated_at', 'updated', 'modified', 'effective_date', 'date', 'timestamp'],
  },
  transactions: {
    transaction_id: [
      'transaction_id',
      'transactionid',
      'order_id',
      'orderid',
      'purchase_id',
      'invoice',
      'invoice_no',
      'invoiceno',
      'receipt_id',
      'bill_id',
      'id',
    ],
    user_id: ['user_id', 'userid', 'customer_id', 'customerid', 'customer', 'client_id', 'member_id'],
    session_id: ['session_id', 'sessionid', 'session'],
    product_id: ['product_id', 'productid', 'sku', 'item_id', 'stock_code', 'stockcode', 'product'],
    quantity: ['quantity', 'qty', 'units', 'count'],
    price: ['price', 'unit_price', 'unitprice', 'item_price'],
    items: ['items', 'items_list', 'item_list', 'products', 'product_list', 'basket', 'cart'],
    total_amount: ['total_amount', 'total', 'amount', 'total_price', 'sum', 'order_total', 'order_amount', 'sales', 'revenue'],
    currency: ['currency', 'currency_code'],
    payment_method: ['payment_method', 'payment', 'payment_type', 'tender'],
    country: ['country', 'country_code', 'branch', 'branch_id', 'supermarket', 'store', 'store_id', 'location', 'region'],
    transaction_timestamp: [
      'transaction_timestamp',
      'timestamp',
      'datetime',
      'date',
      'time',
      'order_date',
      'invoice_date',
      'invoicedate',
      'purchase_date',
      'created_at',
    ],
  },
  views: {
    event_id: ['event_id', 'eventid', 'id'],
    user_id: ['user_id', 'userid', 'customer_id', 'customer', 'visitor_id'],
    product_id: ['product_id', 'productid', 'sku', 'item_id', 'product'],
    session_id: ['session_id', 'sessionid', 'session'],
    view_duration: ['view_duration', 'duration', 'seconds', 'time_on_page', 'dwell_time'],
    country: ['country', 'country_code', 'region'],
    timestamp: ['timestamp', 'datetime', 'date', 'time', 'event_time', 'viewed_at', 'created_at'],
  },
  carts: {
    event_id: ['event_id', 'eventid', 'id'],
    event_type: ['event_type', 'action', 'type', 'event'],
    user_id: ['user_id', 'userid', 'customer_id', 'customer', 'visitor_id'],
    product_id: ['product_id', 'productid', 'sku', 'item_id', 'product'],
    session_id: ['session_id', 'sessionid', 'session'],
    quantity: ['quantity', 'qty', 'units'],
    price: ['price', 'unit_price', 'unitprice'],
    country: ['country', 'country_code', 'region'],
    timestamp: ['timestamp', 'datetime', 'date', 'time', 'event_time', 'created_at'],
  },
};

/** Field name -> column index. */
export type ColumnMapping = Map<string, number>;

const normalise = (name: string) =>
  name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');

/** Parses `--map column=field,...`; a column is a header name or a 1-based column number. */
export function parseMapOption(text: string): [string, string][] {
  return text.split(',').map((part) => {
    const [column, field, extra] = part.split('=').map((s) => s.trim());
    if (!column || !field || extra !== undefined)
      throw new LambdamartError('LM_ERR_IMPORT_MAP_INVALID', `"${part.trim()}" is not column=field`);
    return [column, field];
  });
}

/** Maps each known field to a column: explicit `--map` entries first, then header names by alias. */
export function mapColumns(
  type: ImportType,
  columns: readonly DetectedColumn[],
  explicit: readonly [string, string][] = [],
): ColumnMapping {
  const fields = FieldAliases[type];
  const mapping: ColumnMapping = new Map();
  const used = new Set<number>();
  for (const [column, field] of explicit) {
    if (!(field in fields))
      throw new LambdamartError(
        'LM_ERR_IMPORT_MAP_INVALID',
        `--map: ${field} is not a field of ${type} (fields: ${Object.keys(fields).join(', ')})`,
      );
    const byNumber = /^\d+$/.test(column) ? columns[Number(column) - 1] : undefined;
    const match = byNumber ?? columns.find((c) => c.name === column) ?? columns.find((c) => normalise(c.name) === normalise(column));
    if (!match)
      throw new LambdamartError(
        'LM_ERR_IMPORT_MAP_INVALID',
        `--map: no column named ${column} (columns: ${columns.map((c) => c.name).join(', ')})`,
      );
    mapping.set(field, match.index);
    used.add(match.index);
  }
  for (const [field, aliases] of Object.entries(fields)) {
    if (mapping.has(field)) continue;
    // The first alias that names an unused column; aliases are listed best first.
    for (const alias of aliases) {
      const match = columns.find((c) => !used.has(c.index) && normalise(c.name) === alias);
      if (match) {
        mapping.set(field, match.index);
        used.add(match.index);
        break;
      }
    }
  }
  return mapping;
}

/** Fields an import cannot do without (the others have defaults or are derived). */
export function missingRequired(type: ImportType, mapping: ColumnMapping): string[] {
  const need: Record<ImportType, string[][]> = {
    products: [['product_id', 'name'], ['price']],
    // Without products or baskets, an amount makes each row an order of the placeholder product.
    transactions: [['user_id'], ['transaction_timestamp'], ['product_id', 'items', 'total_amount']],
    views: [['user_id'], ['product_id'], ['timestamp']],
    carts: [['user_id'], ['product_id'], ['timestamp'], ['price']],
  };
  return need[type].filter((anyOf) => !anyOf.some((field) => mapping.has(field))).map((anyOf) => anyOf.join(' or '));
}
