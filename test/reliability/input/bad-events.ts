/**
 * What happens to a bad event: one table, case -> payload -> expected outcome, that drives both
 * bad-events.int.test.ts (the real savers on a test's own topics, fed by kcat) and the README
 * table "What happens to a bad event" (rendered by readme-tables.ts, checked by readme-tables.test.ts).
 */
import { randomUUID } from 'node:crypto';
import { cartEvent, catalogRecord, productView, transaction } from '@lambdamart/speed-layer/testing';

export type SourceTopic = 'transactions' | 'productViews' | 'cartEvents' | 'productCatalog';

export type ExpectedOutcome =
  /** Saved as one row (a duplicate too: once); `note` says what the reader should know. */
  | { outcome: 'saved'; note: string }
  /** Saved, and the speed view files it under category `Unknown` (the warehouse under the unknown product, key -1). */
  | { outcome: 'saved with a flag'; flag: 'category Unknown'; note: string }
  /** In `dead_letters` and on the dead-letter topic; the reason starts with `reason`. */
  | { outcome: 'dead-lettered'; reason: string };

export interface SentBadEvent {
  /** The message value; null is a Kafka tombstone (no value at all). */
  value: string | Buffer | null;
  /** The event id (transaction_id, event_id, product_id) for a case that is saved. */
  id?: string;
  /** How many times the message is sent (a duplicate). */
  copies?: number;
  /** A country only this case uses, so its row in the speed view can be found (flagged cases). */
  country?: string;
}

export interface BadEventCase {
  name: string;
  topic: SourceTopic;
  expected: ExpectedOutcome;
  make: () => SentBadEvent;
}

const json = (value: unknown): string => JSON.stringify(value);
const tx = () => transaction(7);
const view = () => productView(7);
const cart = () => cartEvent(7);
/** A valid transaction with one line, `price` x `quantity`. */
const oneLine = (price: number, quantity = 1) => ({
  ...tx(),
  products: [{ product_id: 'prod_1', quantity, price }],
  total_amount: Math.round(price * 100 * quantity) / 100,
});
/** The JSON of `value` with `raw` bytes put in place of the string "@@RAW@@". */
const withRawBytes = (value: unknown, raw: Buffer): Buffer => {
  const [before, after] = json(value).split('@@RAW@@') as [string, string];
  return Buffer.concat([Buffer.from(before), raw, Buffer.from(after)]);
};
const saved = (note: string): ExpectedOutcome => ({ outcome: 'saved', note });
const dead = (reason: string): ExpectedOutcome => ({ outcome: 'dead-lettered', reason });
const savedTx = (event: ReturnType<typeof tx>): SentBadEvent => ({ value: json(event), id: event.transaction_id });

export const ONE_MIB = 1024 * 1024;

export const BAD_EVENTS: readonly BadEventCase[] = [
  // Not JSON at all.
  { name: 'empty message (zero bytes)', topic: 'transactions', expected: dead('empty message'), make: () => ({ value: '' }) },
  { name: 'tombstone (no value)', topic: 'productViews', expected: dead('empty message'), make: () => ({ value: null }) },
  { name: 'plain text', topic: 'transactions', expected: dead('malformed JSON'), make: () => ({ value: 'hello, Kafka' }) },
  {
    name: 'JSON cut in the middle',
    topic: 'transactions',
    expected: dead('malformed JSON'),
    make: () => ({ value: json(tx()).slice(0, 40) }),
  },
  {
    name: 'invalid UTF-8 inside a string',
    topic: 'transactions',
    expected: dead('invalid UTF-8'),
    make: () => ({ value: withRawBytes({ ...tx(), user_id: '@@RAW@@' }, Buffer.from([0x75, 0xc3, 0x28, 0xff])) }),
  },
  {
    name: 'UTF-8 byte-order mark before the JSON',
    topic: 'productViews',
    expected: dead('malformed JSON'),
    make: () => ({ value: `\ufeff${json(view())}` }),
  },
  {
    name: 'raw NUL byte inside a string',
    topic: 'cartEvents',
    expected: dead('malformed JSON'),
    make: () => ({ value: withRawBytes({ ...cart(), session_id: '@@RAW@@' }, Buffer.from([0x61, 0x00, 0x62])) }),
  },
  {
    name: 'escaped NUL (\\u0000) in a text field',
    topic: 'transactions',
    expected: dead('not storable as a transaction: user_id contains a NUL'),
    make: () => ({ value: json({ ...tx(), user_id: 'user\u0000x' }) }),
  },
  {
    name: 'payload over 1 MiB that is not JSON',
    topic: 'transactions',
    expected: dead('malformed JSON'),
    make: () => ({ value: `{"transaction_id": "${'x'.repeat(ONE_MIB + 200_000)}` }),
  },
  {
    name: 'payload over 1 MiB: a valid transaction with a huge extra field',
    topic: 'transactions',
    expected: saved('unknown fields are dropped, the event is saved'),
    make: () => {
      const event = tx();
      return { value: json({ ...event, comment: 'y'.repeat(ONE_MIB + 100_000) }), id: event.transaction_id };
    },
  },
  // JSON of the wrong shape.
  { name: 'a JSON number', topic: 'transactions', expected: dead('invalid transaction: '), make: () => ({ value: '42' }) },
  { name: 'JSON null', topic: 'cartEvents', expected: dead('invalid cart: '), make: () => ({ value: 'null' }) },
  {
    name: 'array where an object belongs (the event in a list)',
    topic: 'transactions',
    expected: dead('invalid transaction: '),
    make: () => ({ value: json([tx()]) }),
  },
  {
    name: 'object where the products array belongs',
    topic: 'transactions',
    expected: dead('invalid transaction: products'),
    make: () => ({ value: json({ ...tx(), products: { product_id: 'prod_1', quantity: 1, price: 1 } }) }),
  },
  {
    name: 'deeply nested JSON (100,000 levels) in place of products',
    topic: 'transactions',
    expected: dead('invalid transaction: products'),
    make: () => ({
      value: json({ ...tx(), products: 0 }).replace('"products":0', `"products":${'['.repeat(100_000)}${']'.repeat(100_000)}`),
    }),
  },
  {
    name: 'deeply nested JSON (10,000 levels) in an extra field',
    topic: 'productViews',
    expected: saved('unknown fields are dropped, the event is saved'),
    make: () => {
      const event = view();
      return {
        value: json({ ...event, x: 0 }).replace('"x":0', `"x":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`),
        id: event.event_id,
      };
    },
  },
  // Wrong types and missing fields.
  {
    name: 'quantity as a string',
    topic: 'transactions',
    expected: dead('invalid transaction: products[0].quantity'),
    make: () => ({ value: json({ ...oneLine(5), products: [{ product_id: 'prod_1', quantity: '1', price: 5 }] }) }),
  },
  {
    name: 'total_amount as a string',
    topic: 'transactions',
    expected: dead('invalid transaction: total_amount'),
    make: () => ({ value: json({ ...oneLine(5), total_amount: '5.00' }) }),
  },
  {
    name: 'timestamp as epoch milliseconds',
    topic: 'productViews',
    expected: dead('invalid view: timestamp'),
    make: () => ({ value: json({ ...view(), timestamp: Date.now() }) }),
  },
  {
    name: 'missing transaction_id',
    topic: 'transactions',
    expected: dead('invalid transaction: transaction_id'),
    make: () => {
      const { transaction_id: _, ...rest } = tx();
      return { value: json(rest) };
    },
  },
  {
    name: 'user_id null',
    topic: 'cartEvents',
    expected: dead('invalid cart: user_id'),
    make: () => ({ value: json({ ...cart(), user_id: null }) }),
  },
  {
    name: 'id that is not a uuid',
    topic: 'productViews',
    expected: dead('invalid view: event_id'),
    make: () => ({ value: json({ ...view(), event_id: "1' or '1'='1" }) }),
  },
  {
    name: 'user_id longer than 100 characters',
    topic: 'productViews',
    expected: dead('invalid view: user_id'),
    make: () => ({ value: json({ ...view(), user_id: 'u'.repeat(101) }) }),
  },
  {
    name: 'extra fields',
    topic: 'cartEvents',
    expected: saved('unknown fields are dropped, the event is saved'),
    make: () => {
      const event = cart();
      return { value: json({ ...event, coupon: 'SAVE10', device: { os: 'ios' } }), id: event.event_id };
    },
  },
  // Wrong event for the topic.
  {
    name: 'a product view on the transactions topic',
    topic: 'transactions',
    expected: dead('invalid transaction: '),
    make: () => ({ value: json(view()) }),
  },
  {
    name: 'a transaction on the cart-events topic',
    topic: 'cartEvents',
    expected: dead('invalid cart: '),
    make: () => ({ value: json(tx()) }),
  },
  {
    name: "event_type 'view' on the cart-events topic",
    topic: 'cartEvents',
    expected: dead('invalid cart: event_type'),
    make: () => ({ value: json({ ...cart(), event_type: 'view' }) }),
  },
  // Wrong numbers.
  {
    name: 'total_amount not the sum of the lines',
    topic: 'transactions',
    expected: dead('invalid transaction: total_amount'),
    make: () => ({ value: json({ ...oneLine(5), total_amount: 6 }) }),
  },
  {
    name: 'negative price',
    topic: 'cartEvents',
    expected: dead('invalid cart: price'),
    make: () => ({ value: json({ ...cart(), price: -1 }) }),
  },
  {
    name: 'quantity 0',
    topic: 'transactions',
    expected: dead('invalid transaction: products[0].quantity'),
    make: () => ({ value: json(oneLine(5, 0)) }),
  },
  {
    name: 'fractional quantity',
    topic: 'cartEvents',
    expected: dead('invalid cart: quantity'),
    make: () => ({ value: json({ ...cart(), quantity: 1.5 }) }),
  },
  {
    name: 'price 1e400 (Infinity once parsed)',
    topic: 'cartEvents',
    expected: dead('invalid cart: price'),
    make: () => ({ value: json({ ...cart(), price: 0 }).replace('"price":0', '"price":1e400') }),
  },
  {
    name: 'price beyond numeric(12,2)',
    topic: 'transactions',
    expected: dead('not storable as a transaction: products[0].price'),
    make: () => ({ value: json(oneLine(1e11)) }),
  },
  {
    name: 'quantity beyond a 32-bit integer',
    topic: 'cartEvents',
    expected: dead('not storable as a cart: quantity'),
    make: () => ({ value: json({ ...cart(), quantity: 2 ** 31 }) }),
  },
  {
    name: 'view_duration over a day',
    topic: 'productViews',
    expected: dead('invalid view: view_duration'),
    make: () => ({ value: json({ ...view(), view_duration: 86_401 }) }),
  },
  {
    name: 'no lines (empty products)',
    topic: 'transactions',
    expected: dead('invalid transaction: products'),
    make: () => ({ value: json({ ...tx(), products: [], total_amount: 0 }) }),
  },
  // Timestamps.
  {
    name: 'timestamp with an offset (+02:00), not UTC',
    topic: 'transactions',
    expected: dead('invalid transaction: transaction_timestamp'),
    make: () => ({ value: json({ ...tx(), transaction_timestamp: '2026-06-01T10:00:00+02:00' }) }),
  },
  {
    name: 'timestamp without a zone',
    topic: 'productViews',
    expected: dead('invalid view: timestamp'),
    make: () => ({ value: json({ ...view(), timestamp: '2026-06-01T10:00:00' }) }),
  },
  {
    name: 'a day that does not exist (February 30)',
    topic: 'transactions',
    expected: dead('invalid transaction: transaction_timestamp'),
    make: () => ({ value: json({ ...tx(), transaction_timestamp: '2026-02-30T10:00:00Z' }) }),
  },
  {
    name: 'timestamp far in the future (9999-12-31)',
    topic: 'transactions',
    expected: saved('saved as sent; it lands in the default partition of the facts'),
    make: () => savedTx({ ...tx(), transaction_timestamp: '9999-12-31T23:59:59Z' }),
  },
  {
    name: 'timestamp far in the past (0001-01-01)',
    topic: 'productViews',
    expected: saved('saved as sent; a late event, picked up by the lookback'),
    make: () => {
      const event = { ...view(), timestamp: '0001-01-01T00:00:00Z' };
      return { value: json(event), id: event.event_id };
    },
  },
  {
    name: 'year 10000 (six-digit ISO year)',
    topic: 'productViews',
    expected: dead('invalid view: timestamp'),
    make: () => ({ value: json({ ...view(), timestamp: '+010000-01-01T00:00:00Z' }) }),
  },
  // Valid but unusual.
  {
    name: 'unknown product',
    topic: 'transactions',
    expected: {
      outcome: 'saved with a flag',
      flag: 'category Unknown',
      note: 'the speed view files it under category Unknown, the warehouse under the unknown product (key -1)',
    },
    make: () => {
      const event = { ...oneLine(12.5), products: [{ product_id: 'prod_not_in_catalog', quantity: 1, price: 12.5 }] };
      const country = `unknown-product-${randomUUID().slice(0, 8)}`;
      return { value: json({ ...event, country }), id: event.transaction_id, country };
    },
  },
  {
    name: 'unknown currency code (XYZ)',
    topic: 'transactions',
    expected: saved('saved as sent: the contract checks the form (three capitals), not the ISO 4217 list'),
    make: () => savedTx({ ...tx(), currency: 'XYZ' }),
  },
  {
    name: 'currency not in the ISO form (usd)',
    topic: 'transactions',
    expected: dead('invalid transaction: currency'),
    make: () => ({ value: json({ ...tx(), currency: 'usd' }) }),
  },
  {
    name: 'the same transaction_id sent twice',
    topic: 'transactions',
    expected: saved('saved once; the second copy is ignored, not a dead letter'),
    make: () => ({ ...savedTx(tx()), copies: 2 }),
  },
  {
    name: 'price with more than two decimals (9.999)',
    topic: 'transactions',
    expected: saved('saved, rounded to the cent (10.00) like its total'),
    make: () => savedTx(oneLine(9.999)),
  },
  {
    name: 'SQL injection in a text field',
    topic: 'transactions',
    expected: saved('saved as text, verbatim; nothing runs'),
    make: () => savedTx({ ...tx(), user_id: "x'); drop table transactions; --" }),
  },
  {
    name: 'catalog record with a negative price',
    topic: 'productCatalog',
    expected: dead('invalid catalog: price'),
    make: () => ({ value: json({ ...catalogRecord(3), price: -5 }) }),
  },
  {
    name: 'catalog record without a name',
    topic: 'productCatalog',
    expected: dead('invalid catalog: name'),
    make: () => {
      const { name: _, ...rest } = catalogRecord(3);
      return { value: json(rest) };
    },
  },
];

/** The README table "What happens to a bad event", one row per case. */
export function badEventsTable(): string {
  const rows = BAD_EVENTS.map((c, i) => {
    const what =
      c.expected.outcome === 'dead-lettered'
        ? `reason starts with \`${c.expected.reason.trim()}\``
        : c.expected.outcome === 'saved with a flag'
          ? `${c.expected.flag}: ${c.expected.note}`
          : c.expected.note;
    return `| ${i + 1} | ${c.name.replaceAll('|', '\\|')} | \`${c.topic}\` | ${c.expected.outcome} | ${what} |`;
  });
  return ['| # | bad event | topic | outcome | reason or note |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}
