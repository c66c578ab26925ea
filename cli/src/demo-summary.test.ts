import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GeneratorSummary } from '@lambdamart/generators';
import { reconcile } from './demo-summary.ts';

function summary(sent: number, catalog: number, invalid: number, duplicates: number): GeneratorSummary {
  return {
    sent,
    byKind: { catalog, view: sent - catalog, cart: 0, transaction: 0 },
    invalidTotal: invalid,
    unusual: { unknown_product: 0, duplicate_id: duplicates },
    unusualTotal: duplicates,
  } as GeneratorSummary;
}

describe('the demo account', () => {
  it('adds up when every event is saved, dead-lettered or a duplicate; only this run counts', () => {
    const account = reconcile(summary(14_005, 500, 1, 5), { saved: 1000, deadLetters: 7 }, { saved: 1000 + 13_499, deadLetters: 8 });
    assert.equal(account.difference, 0);
    assert.match(account.table, /generated \(acknowledged by Kafka, catalog records apart\)\s+13,505/);
    assert.match(account.table, /saved in the realtime database\s+13,499\s+13,499/);
    assert.match(account.table, /difference .*\s+0\s+0$/m);
  });

  it('says how many are missing', () => {
    const account = reconcile(summary(1_000, 0, 0, 0), { saved: 0, deadLetters: 0 }, { saved: 990, deadLetters: 0 });
    assert.equal(account.difference, 10);
  });
});
