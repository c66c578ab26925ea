import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cartEventRows, catalogRows, productViewRows, transactionRows, uniqueBy } from './rows.ts';
import { cartEvent, catalogRecord, productView, transaction } from './testing/factories.ts';

describe('staging rows', () => {
  it('uniqueBy keeps the first of each key, in order', () => {
    assert.deepEqual(
      uniqueBy(['a1', 'b1', 'a2', 'c1'], (s) => s[0] ?? ''),
      ['a1', 'b1', 'c1'],
    );
  });

  it('a transaction gives one row and a numbered row per line; a duplicate id in the batch is dropped', () => {
    const tx = transaction(2); // 3 lines
    const copy = transactionRows([tx, { ...tx, user_id: 'someone else' }]);
    assert.equal(copy.events, 1);
    const header = copy.tables.stage_transactions?.split('\n').filter(Boolean) ?? [];
    const lines = copy.tables.stage_transaction_items?.split('\n').filter(Boolean) ?? [];
    assert.equal(header.length, 1);
    assert.deepEqual(header[0]?.split('\t'), [
      tx.transaction_id,
      tx.user_id,
      tx.session_id,
      String(tx.total_amount),
      'USD',
      tx.payment_method,
      tx.country,
      tx.transaction_timestamp,
    ]);
    assert.deepEqual(
      lines.map((l) => l.split('\t').slice(1, 3)),
      tx.products.map((p, i) => [String(i + 1), p.product_id]),
    );
  });

  it('views, cart events and catalog records: one row each, duplicates by key dropped', () => {
    const view = productView(1);
    assert.equal(productViewRows([view, view, productView(2)]).events, 2);
    const cart = cartEvent(1);
    assert.equal(cartEventRows([cart, cart]).events, 1);
    const record = catalogRecord(1);
    // Same product and time written differently is the same record; a later time is another.
    const sameTime = { ...record, updated_at: record.updated_at.replace('.000Z', 'Z') };
    const later = catalogRecord(1, new Date('2026-03-01T00:00:00Z'));
    assert.equal(catalogRows([record, sameTime, later]).events, 2);
  });
});
