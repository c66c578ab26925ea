import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IncomingMessage, PreparedBatch } from '../batch.ts';
import { refusedAsAWhole, setApartRefused } from './refused-batches.ts';

const message = (offset: number): IncomingMessage => ({
  offset: String(offset),
  key: Buffer.from('k'),
  value: Buffer.from(`{"n":${offset}}`),
});

const prepared = (): PreparedBatch => ({
  valid: [10, 11, 12].map((o) => ({ message: message(o), event: { n: o } })),
  deadLetters: [{ offset: '9', key: 'k', reason: 'malformed JSON', payload: '{', raw: Buffer.from('{'), rawKey: Buffer.from('k') }],
});

describe('batches refused as data', () => {
  it('setApartRefused dead-letters the events Postgres refused, with its reason, after those already dead', () => {
    const rest = setApartRefused(prepared(), new Map([[1, 'refused by PostgreSQL: value too long (22001)']]));
    assert.deepEqual(
      rest.valid.map((v) => v.message.offset),
      ['10', '12'],
    );
    assert.deepEqual(
      rest.deadLetters.map((d) => [d.offset, d.reason, d.payload]),
      [
        ['9', 'malformed JSON', '{'],
        ['11', 'refused by PostgreSQL: value too long (22001)', '{"n":11}'],
      ],
    );
  });

  it('nothing refused alone: the batch is unchanged', () => {
    const rest = setApartRefused(prepared(), new Map());
    assert.deepEqual(rest, prepared());
  });

  it('refusedAsAWhole dead-letters every event, saying it was refused with its batch', () => {
    const whole = refusedAsAWhole(prepared(), 'numeric field overflow (22003)');
    assert.equal(whole.valid.length, 0);
    assert.deepEqual(
      whole.deadLetters.map((d) => d.reason),
      ['malformed JSON', ...[10, 11, 12].map(() => 'refused by PostgreSQL with its batch: numeric field overflow (22003)')],
    );
  });
});
