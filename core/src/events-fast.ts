/**
 * The contracts of events.ts, hand-compiled for the savers' hot path. `fastValidEvent` returns
 * what zod would return (a new object with the contract's fields only, unknown fields dropped)
 * when the value is certainly valid, and `undefined` otherwise: the caller then asks zod
 * (validateEvent), which gives the verdict and the reason. So this can only be wrong by accepting
 * something zod refuses, and events-fast.test.ts checks it never does, on generated valid events
 * and many malformed mutations of them. The patterns are the schemas' own (not copies).
 */
import type { CartEvent, CatalogRecord, EventKind, EventOf, ProductViewEvent, TransactionEvent, TransactionLine } from './events.ts';
import { ProductViewSchema, toCents } from './events.ts';

const UUID = (ProductViewSchema.shape.event_id._zod as unknown as { pattern: RegExp }).pattern;
const UTC_TIMESTAMP = (ProductViewSchema.shape.timestamp._zod as unknown as { pattern: RegExp }).pattern;
const CURRENCY = /^[A-Z]{3}$/;

type Json = Record<string, unknown>;

const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown, min: number, max: number): v is string => typeof v === 'string' && v.length >= min && v.length <= max;
const id = (v: unknown): v is string => str(v, 1, 100);
const uuid = (v: unknown): v is string => typeof v === 'string' && UUID.test(v);
const timestamp = (v: unknown): v is string => typeof v === 'string' && UTC_TIMESTAMP.test(v);
const money = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const int = (v: unknown, min: number, max: number): v is number => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;

function transaction(v: Json): TransactionEvent | undefined {
  const products = v.products;
  if (
    !uuid(v.transaction_id) ||
    !id(v.user_id) ||
    !id(v.session_id) ||
    !Array.isArray(products) ||
    products.length === 0 ||
    !money(v.total_amount) ||
    typeof v.currency !== 'string' ||
    !CURRENCY.test(v.currency) ||
    !str(v.payment_method, 1, 32) ||
    !str(v.country, 2, 64) ||
    !timestamp(v.transaction_timestamp)
  ) {
    return undefined;
  }
  const lines: TransactionLine[] = new Array(products.length);
  let cents = 0;
  for (let i = 0; i < products.length; i++) {
    const line = products[i];
    if (!isRecord(line) || !id(line.product_id) || !int(line.quantity, 1, Number.MAX_SAFE_INTEGER) || !money(line.price)) return undefined;
    lines[i] = { product_id: line.product_id, quantity: line.quantity, price: line.price };
    cents += toCents(line.price) * line.quantity;
  }
  if (cents !== toCents(v.total_amount)) return undefined;
  return {
    transaction_id: v.transaction_id,
    user_id: v.user_id,
    session_id: v.session_id,
    products: lines,
    total_amount: v.total_amount,
    currency: v.currency,
    payment_method: v.payment_method,
    country: v.country,
    transaction_timestamp: v.transaction_timestamp,
  };
}

function view(v: Json): ProductViewEvent | undefined {
  if (
    !uuid(v.event_id) ||
    v.event_type !== 'view' ||
    !id(v.user_id) ||
    !id(v.product_id) ||
    !id(v.session_id) ||
    !int(v.view_duration, 0, 86_400) ||
    !str(v.country, 2, 64) ||
    !timestamp(v.timestamp)
  ) {
    return undefined;
  }
  return {
    event_id: v.event_id,
    event_type: 'view',
    user_id: v.user_id,
    product_id: v.product_id,
    session_id: v.session_id,
    view_duration: v.view_duration,
    country: v.country,
    timestamp: v.timestamp,
  };
}

function cart(v: Json): CartEvent | undefined {
  const type = v.event_type;
  if (
    !uuid(v.event_id) ||
    (type !== 'add' && type !== 'remove') ||
    !id(v.user_id) ||
    !id(v.product_id) ||
    !id(v.session_id) ||
    !int(v.quantity, 1, Number.MAX_SAFE_INTEGER) ||
    !money(v.price) ||
    !str(v.country, 2, 64) ||
    !timestamp(v.timestamp)
  ) {
    return undefined;
  }
  return {
    event_id: v.event_id,
    event_type: type,
    user_id: v.user_id,
    product_id: v.product_id,
    session_id: v.session_id,
    quantity: v.quantity,
    price: v.price,
    country: v.country,
    timestamp: v.timestamp,
  };
}

function catalog(v: Json): CatalogRecord | undefined {
  if (!id(v.product_id) || !str(v.name, 1, 200) || !str(v.category, 1, 100) || !money(v.price) || !timestamp(v.updated_at))
    return undefined;
  return { product_id: v.product_id, name: v.name, category: v.category, price: v.price, updated_at: v.updated_at };
}

const CHECKS: { [K in EventKind]: (v: Json) => EventOf<K> | undefined } = { transaction, view, cart, catalog };

/** zod's output for a value that certainly meets the contract of `kind`; undefined: ask zod. */
export function fastValidEvent<K extends EventKind>(kind: K, value: unknown): EventOf<K> | undefined {
  return isRecord(value) ? (CHECKS[kind] as (v: Json) => EventOf<K> | undefined)(value) : undefined;
}
