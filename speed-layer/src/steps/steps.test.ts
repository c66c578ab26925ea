import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { badTransactionMessages, cartEvent, catalogRecord, productView, transaction } from '../testing/factories.ts';
import { checkStorableStep } from './check-storable-step.ts';
import { prepareEvent } from './index.ts';
import { parseJsonStep } from './parse-json-step.ts';
import { validateContractStep } from './validate-contract-step.ts';

const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('pipeline steps', () => {
  it('parseJsonStep: JSON passes; empty and malformed messages are dead letters', () => {
    assert.deepEqual(parseJsonStep(Buffer.from('{"a":1}')), { ok: true, value: { a: 1 } });
    assert.deepEqual(parseJsonStep(null), { ok: false, reason: 'empty message' });
    assert.deepEqual(parseJsonStep(Buffer.alloc(0)), { ok: false, reason: 'empty message' });
    const broken = parseJsonStep(Buffer.from('{"a":'));
    assert.equal(broken.ok, false);
    if (!broken.ok) assert.match(broken.reason, /^malformed JSON: /);
  });

  it('parseJsonStep: invalid UTF-8 is a dead letter, not an event with U+FFFD in it', () => {
    const raw = Buffer.concat([Buffer.from('{"user_id":"u'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]);
    assert.deepEqual(parseJsonStep(raw), { ok: false, reason: 'invalid UTF-8 (18 bytes)' });
  });

  it('validateContractStep: the reason names the kind and the field', () => {
    const result = validateContractStep('view', { ...productView(1), view_duration: -1 });
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.reason, /^invalid view: view_duration/);
  });

  it('checkStorableStep: refuses what the tables cannot hold, passes the rest unchanged', () => {
    const ok = transaction(3);
    assert.deepEqual(checkStorableStep('transaction', ok), { ok: true, value: ok });
    const cases: [string, object, RegExp][] = [
      ['NUL', { ...productView(1), session_id: 'a\u0000b' }, /session_id contains a NUL/],
      ['price', { ...cartEvent(1), price: 1e10 }, /price 10000000000 exceeds/],
      ['quantity', { ...cartEvent(1), quantity: 2 ** 31 }, /quantity 2147483648 exceeds/],
      ['line price', { ...ok, products: [{ product_id: 'p', quantity: 1, price: 2e10 }] }, /products\[0\]\.price/],
      ['year 0', { ...catalogRecord(1), updated_at: '0000-01-01T00:00:00Z' }, /updated_at .* outside the years/],
    ];
    for (const [what, event, reason] of cases) {
      const result = checkStorableStep('view', event as Parameters<typeof checkStorableStep<'view'>>[1]);
      assert.equal(result.ok, false, what);
      if (!result.ok) assert.match(result.reason, reason, what);
    }
  });

  it('prepareEvent: every valid factory event passes; every bad message gives its reason', () => {
    assert.equal(prepareEvent('transaction', bytes(transaction(7))).ok, true);
    assert.equal(prepareEvent('view', bytes(productView(7))).ok, true);
    assert.equal(prepareEvent('cart', bytes(cartEvent(7))).ok, true);
    assert.equal(prepareEvent('catalog', bytes(catalogRecord(7))).ok, true);
    for (const bad of badTransactionMessages()) {
      const result = prepareEvent('transaction', bad.value === null ? null : Buffer.from(bad.value));
      assert.equal(result.ok, false, String(bad.value));
      if (!result.ok) assert.match(result.reason, bad.reason);
    }
  });
});
