import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Topics } from '@lambdamart/core';
import { defaultSaverTopics, saverTopicsWithSuffix, sourceTopics } from './topics.ts';

describe('saver topics', () => {
  it('default to core topics; a suffix renames every one; four are read, each with its contract', () => {
    assert.equal(defaultSaverTopics.transactions, Topics.transactions.name);
    assert.equal(defaultSaverTopics.deadLetters, Topics.deadLetters.name);
    assert.equal(saverTopicsWithSuffix('.t1').productCatalog, 'product-catalog.t1');
    assert.deepEqual(
      sourceTopics(defaultSaverTopics).map((t) => t.kind),
      ['transaction', 'view', 'cart', 'catalog'],
    );
  });
});
