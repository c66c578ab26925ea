/**
 * Small factories of valid (and deliberately invalid) events, from core's contracts, for the
 * tests and the benchmark. Deterministic given `seq`, except ids (random uuid v4) and, when not
 * given, timestamps (now).
 */
import { randomUUID } from 'node:crypto';
import type { CartEvent, CatalogRecord, ProductViewEvent, TransactionEvent } from '@lambdamart/core';

export const COUNTRIES = ['US', 'GB', 'DE', 'FR', 'JP', 'BR', 'IN', 'CA'] as const;
export const CATEGORIES = ['Electronics', 'Sports', 'Books', 'Home', 'Toys'] as const;
export const PRODUCT_COUNT = 200;

export const productId = (n: number): string => `prod_${n % PRODUCT_COUNT}`;
export const categoryOf = (n: number): string => CATEGORIES[(n % PRODUCT_COUNT) % CATEGORIES.length] ?? 'Unknown';
const pick = <T>(items: readonly T[], n: number): T => items[n % items.length] as T;
const priceCents = (n: number): number => 199 + ((n * 7919) % 20_000);

export function transaction(seq: number, at: Date = new Date()): TransactionEvent {
  const lines = 1 + (seq % 3);
  const products = Array.from({ length: lines }, (_, i) => ({
    product_id: productId(seq + i * 13),
    quantity: 1 + ((seq + i) % 4),
    price: priceCents(seq + i) / 100,
  }));
  const cents = products.reduce((sum, line) => sum + Math.round(line.price * 100) * line.quantity, 0);
  return {
    transaction_id: randomUUID(),
    user_id: `user_${seq % 5000}`,
    session_id: `session_${seq % 20_000}`,
    products,
    total_amount: cents / 100,
    currency: 'USD',
    payment_method: pick(['credit_card', 'paypal', 'debit_card'], seq),
    country: pick(COUNTRIES, seq),
    transaction_timestamp: at.toISOString(),
  };
}

export function productView(seq: number, at: Date = new Date()): ProductViewEvent {
  return {
    event_id: randomUUID(),
    event_type: 'view',
    user_id: `user_${seq % 5000}`,
    product_id: productId(seq),
    session_id: `session_${seq % 20_000}`,
    view_duration: seq % 300,
    country: pick(COUNTRIES, seq),
    timestamp: at.toISOString(),
  };
}

export function cartEvent(seq: number, at: Date = new Date()): CartEvent {
  return {
    event_id: randomUUID(),
    event_type: seq % 4 === 0 ? 'remove' : 'add',
    user_id: `user_${seq % 5000}`,
    product_id: productId(seq),
    session_id: `session_${seq % 20_000}`,
    quantity: 1 + (seq % 3),
    price: priceCents(seq) / 100,
    country: pick(COUNTRIES, seq),
    timestamp: at.toISOString(),
  };
}

/**
 * The i-th event of the benchmarks' mix: 60% product views, 25% cart events, 15% transactions,
 * with the topic (a key of SaverTopics) it goes to.
 */
export function mixedEvent(
  i: number,
  at?: Date,
):
  | { topic: 'productViews'; event: ProductViewEvent }
  | { topic: 'cartEvents'; event: CartEvent }
  | { topic: 'transactions'; event: TransactionEvent } {
  const r = i % 20;
  if (r < 12) return { topic: 'productViews', event: productView(i, at) };
  if (r < 17) return { topic: 'cartEvents', event: cartEvent(i, at) };
  return { topic: 'transactions', event: transaction(i, at) };
}

export function catalogRecord(n: number, at: Date = new Date('2026-01-01T00:00:00Z')): CatalogRecord {
  return {
    product_id: productId(n),
    name: `Product ${n % PRODUCT_COUNT}`,
    category: categoryOf(n),
    price: priceCents(n) / 100,
    updated_at: at.toISOString(),
  };
}

/** Invalid messages of every kind the savers must dead-letter, each with the reason it should give. */
export function badTransactionMessages(): { value: string | null; reason: RegExp }[] {
  const good = transaction(1);
  return [
    { value: '{"transaction_id": ', reason: /^malformed JSON/ },
    { value: '', reason: /^empty message$/ },
    { value: JSON.stringify({ ...good, total_amount: good.total_amount + 1 }), reason: /total_amount .* is not the sum of the lines/ },
    { value: JSON.stringify({ ...good, transaction_id: 'tx-1' }), reason: /^invalid transaction: transaction_id/ },
    { value: JSON.stringify({ ...good, transaction_timestamp: '2026-01-01T10:00:00+02:00' }), reason: /transaction_timestamp/ },
    { value: JSON.stringify({ ...good, user_id: 'nul\u0000user' }), reason: /^not storable as a transaction: user_id contains a NUL/ },
    {
      value: JSON.stringify({ ...good, products: [{ product_id: 'p', quantity: 1, price: 1e11 }], total_amount: 1e11 }),
      reason: /^not storable as a transaction: products\[0\]\.price/,
    },
  ];
}
