import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventIdFilter, hashes, hashId } from './event-id-filter.ts';

const idBytes = (n: number) => new TextEncoder().encode(`order-${n}:1`);

function add(filter: EventIdFilter, n: number): void {
  hashId(idBytes(n));
  filter.add(hashes[0] ?? 0, hashes[1] ?? 0);
}

function has(filter: EventIdFilter, n: number): boolean {
  hashId(idBytes(n));
  return filter.has(hashes[0] ?? 0, hashes[1] ?? 0);
}

describe('event id Bloom filter', () => {
  it('holds every id added, also once folded to fewer bits', () => {
    const filter = EventIdFilter.forIds(5_000);
    for (let n = 0; n < 5_000; n++) add(filter, n);
    const folded = filter.folded();
    assert.ok(folded.bits.length < filter.bits.length, 'folding keeps fewer bits');
    assert.equal(folded.ids, 5_000);
    for (let n = 0; n < 5_000; n++) {
      assert.ok(has(filter, n), `id ${n} found`);
      assert.ok(has(folded, n), `id ${n} found after folding`);
    }
  });

  it('rarely flags an id it does not hold', () => {
    const filter = EventIdFilter.forIds(5_000);
    for (let n = 0; n < 5_000; n++) add(filter, n);
    const folded = filter.folded();
    let flagged = 0;
    for (let n = 5_000; n < 105_000; n++) if (has(folded, n)) flagged++;
    // At 16 bits per id and 11 hashes, about once in 2,000 tests.
    assert.ok(flagged < 200, `${flagged} false positives in 100,000 tests`);
  });

  it('is overfull below 12 bits per id', () => {
    const filter = EventIdFilter.forIds(0);
    const capacity = (filter.bits.length * 8) / 12;
    for (let n = 0; n <= capacity; n++) add(filter, n);
    assert.equal(filter.overfull(), true);
    assert.equal(EventIdFilter.forIds(0).overfull(), false);
  });
});
