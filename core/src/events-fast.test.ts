import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateEvent } from './events.ts';
import { fastValidEvent } from './events-fast.ts';

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
const transaction = {
  transaction_id: '6f1c2a9e-8c1b-4a6e-9d2f-0b7c6e5d4a31',
  user_id: 'user_123',
  session_id: 'session_789',
  products: [
    { product_id: 'prod_456', quantity: 2, price: 29.99, note: 'dropped' },
    { product_id: 'prod_7', quantity: 1, price: 0.1 },
  ],
  total_amount: 60.08,
  currency: 'USD',
  payment_method: 'credit_card',
  country: 'US',
  transaction_timestamp: '2025-12-07T04:15:30.123Z',
  extra: { nested: [1, 2] },
};

// The property test against zod on many generated and malformed events is in
// speed-layer/src/steps/fast-path.test.ts; these are the cases a reader checks first.
describe('fastValidEvent', () => {
  it("returns zod's output for a valid event: a new object, unknown fields dropped", () => {
    for (const [kind, value] of [
      ['view', view],
      ['transaction', transaction],
    ] as const) {
      const fast = fastValidEvent(kind, value);
      const zod = validateEvent(kind, value);
      assert.equal(zod.ok, true);
      if (zod.ok) assert.deepEqual(fast, zod.value);
      assert.notEqual(fast, value);
    }
    assert.equal('extra' in (fastValidEvent('transaction', transaction) ?? {}), false);
  });

  it('is never sure of what zod refuses', () => {
    const refused: [Parameters<typeof fastValidEvent>[0], unknown][] = [
      ['view', null],
      ['view', [view]],
      ['view', { ...view, view_duration: 86_401 }],
      ['view', { ...view, timestamp: '2025-12-07T04:15:30+01:00' }],
      ['view', { ...view, event_id: 'not-a-uuid' }],
      ['transaction', { ...transaction, total_amount: 60.07 }],
      ['transaction', { ...transaction, currency: 'usd' }],
      ['transaction', { ...transaction, products: [] }],
      ['cart', { ...view, event_type: 'view' }],
    ];
    for (const [kind, value] of refused) {
      assert.equal(validateEvent(kind, value).ok, false);
      assert.equal(fastValidEvent(kind, value), undefined, JSON.stringify(value));
    }
  });
});
