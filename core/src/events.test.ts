import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEvent, validateEvent } from './events.ts';

const transaction = {
  transaction_id: '6f1c2a9e-8c1b-4a6e-9d2f-0b7c6e5d4a31',
  user_id: 'user_123',
  session_id: 'session_789',
  products: [
    { product_id: 'prod_456', quantity: 2, price: 29.99 },
    { product_id: 'prod_7', quantity: 1, price: 0.1 },
  ],
  total_amount: 60.08,
  currency: 'USD',
  payment_method: 'credit_card',
  country: 'US',
  transaction_timestamp: '2025-12-07T04:15:30.123Z',
};
const view = {
  event_id: '0d2f4c4e-2b8a-4c4e-8f5e-6a0b2c9d1e73',
  event_type: 'view',
  user_id: 'user_123',
  product_id: 'prod_456',
  session_id: 'session_789',
  view_duration: 42,
  country: 'US',
  timestamp: '2025-12-07T04:15:30Z',
};
const cart = { ...view, event_type: 'add', quantity: 2, price: 29.99, view_duration: undefined };
const catalog = {
  product_id: 'prod_456',
  name: 'Trail shoe',
  category: 'Sports',
  price: 89.5,
  updated_at: '2025-12-01T00:00:00Z',
};

describe('event contracts', () => {
  it('accepts valid samples of every kind', () => {
    assert.equal(validateEvent('transaction', transaction).ok, true);
    assert.equal(validateEvent('view', view).ok, true);
    assert.equal(validateEvent('cart', cart).ok, true);
    assert.equal(validateEvent('cart', { ...cart, event_type: 'remove' }).ok, true);
    assert.equal(validateEvent('catalog', catalog).ok, true);
  });

  it('compares totals in cents, so float sums do not cause false rejects', () => {
    // 0.1 + 0.2 !== 0.3 in floating point; in cents it is exact.
    const tx = {
      ...transaction,
      products: [
        { product_id: 'a', quantity: 1, price: 0.1 },
        { product_id: 'b', quantity: 1, price: 0.2 },
      ],
      total_amount: 0.3,
    };
    assert.equal(validateEvent('transaction', tx).ok, true);
  });

  const invalid: [string, 'transaction' | 'view' | 'cart' | 'catalog', unknown, RegExp][] = [
    [
      'a wrong total',
      'transaction',
      { ...transaction, total_amount: 61 },
      /total_amount: total_amount 61 is not the sum of the lines \(60\.08\)/,
    ],
    [
      'a zero quantity',
      'transaction',
      { ...transaction, products: [{ product_id: 'p', quantity: 0, price: 1 }], total_amount: 0 },
      /products\[0\]\.quantity/,
    ],
    ['a negative price', 'cart', { ...cart, price: -1 }, /price/],
    ['no lines', 'transaction', { ...transaction, products: [], total_amount: 0 }, /products/],
    ['a missing user', 'view', { ...view, user_id: undefined }, /user_id/],
    ['a non-UTC timestamp', 'view', { ...view, timestamp: '2025-12-07T04:15:30+02:00' }, /timestamp/],
    ['a date without time', 'catalog', { ...catalog, updated_at: '2025-12-01' }, /updated_at/],
    ['a non-uuid id', 'view', { ...view, event_id: 'evt-1' }, /event_id/],
    ['an unknown cart action', 'cart', { ...cart, event_type: 'checkout' }, /event_type/],
    ['a lower-case currency', 'transaction', { ...transaction, currency: 'usd' }, /currency: expected an ISO 4217 code/],
    ['a view typed as cart', 'view', { ...view, event_type: 'add' }, /event_type/],
  ];
  for (const [what, kind, value, reason] of invalid) {
    it(`refuses ${what} with a reason naming the field`, () => {
      const result = validateEvent(kind, value);
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.reason, reason);
    });
  }

  it('parses raw bytes and reports malformed JSON and empty messages', () => {
    assert.equal(parseEvent('view', Buffer.from(JSON.stringify(view))).ok, true);
    const broken = parseEvent('view', Buffer.from('{"event_id": '));
    assert.equal(broken.ok, false);
    if (!broken.ok) assert.match(broken.reason, /^malformed JSON/);
    const empty = parseEvent('view', null);
    assert.deepEqual(empty, { ok: false, reason: 'empty message' });
  });
});
