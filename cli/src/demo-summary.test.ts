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
    revenueCents: 1_234_56,
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
    assert.deepEqual(account.mismatches, ['10 events are neither saved, dead-lettered nor a duplicate']);
  });

  it('says how many more were saved than generated, and names the messages of another producer', () => {
    const extra = reconcile(summary(1_000, 0, 0, 0), { saved: 0, deadLetters: 0 }, { saved: 1_001, deadLetters: 1 }, undefined, 1_002);
    assert.equal(extra.difference, -2);
    assert.deepEqual(extra.mismatches, [
      "Kafka took 2 messages into the topics from another producer during the run (kcat, POST /api/v1/events, a second generator): the account counts this run's generator alone, so it cannot add up",
      '2 more events saved or dead-lettered than generated',
    ]);
    assert.match(extra.table, /messages Kafka took into the topics \(catalog records included\)\s+1,002\s+1,000$/m);
    // Kafka took exactly the generator's messages: nothing to say about other producers.
    const own = reconcile(summary(1_000, 0, 0, 0), { saved: 0, deadLetters: 0 }, { saved: 1_000, deadLetters: 0 }, undefined, 1_000);
    assert.deepEqual(own.mismatches, []);
    const one = reconcile(summary(1_000, 0, 0, 0), { saved: 0, deadLetters: 0 }, { saved: 1_001, deadLetters: 0 }, undefined, 1_001);
    assert.match(one.mismatches[0] ?? '', /^Kafka took 1 message into the topics/);
    assert.equal(one.mismatches[1], '1 more event saved or dead-lettered than generated');
  });

  it('compares the warehouse after the last batch run: facts = saved, revenue to the cent', () => {
    const rt = { before: { saved: 0, deadLetters: 0 }, after: { saved: 1000, deadLetters: 0 } };
    const wh = (facts: number, revenueCents: number) => ({
      before: { facts: 50, revenueCents: 99 },
      after: { facts: 50 + facts, revenueCents: 99 + revenueCents },
    });
    const good = reconcile(summary(1_000, 0, 0, 0), rt.before, rt.after, wh(1000, 1_234_56));
    assert.deepEqual(good.mismatches, []);
    assert.match(good.table, /revenue in fact_sales after the last batch run\s+1,234.56\s+1,234.56 \(= generated\)/);
    const short = reconcile(summary(1_000, 0, 0, 0), rt.before, rt.after, wh(999, 1_234_55));
    assert.equal(short.difference, 0);
    assert.deepEqual(short.mismatches, [
      'the warehouse holds 999 facts of this run, the realtime database 1,000 events',
      'revenue in fact_sales 1,234.55 differs from revenue generated 1,234.56 by -0.01',
    ]);
  });
});
