import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffMs, classifyPostgresError } from './retry.ts';

const pgError = (code: string) => Object.assign(new Error(`error ${code}`), { code });

describe('retry policy', () => {
  it('backs off exponentially up to a cap, with jitter', () => {
    const mid = () => 0.5;
    assert.deepEqual(
      [0, 1, 2, 3, 10].map((a) => backoffMs(a, { random: mid })),
      [250, 500, 1000, 2000, 10_000],
    );
    assert.equal(backoffMs(0, { random: () => 0 }), 200);
    assert.equal(backoffMs(0, { random: () => 1 }), 300);
  });

  it('classifies Postgres failures by what can help', () => {
    assert.equal(classifyPostgresError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), 'unavailable');
    assert.equal(classifyPostgresError(new Error('Connection terminated unexpectedly')), 'unavailable');
    assert.equal(classifyPostgresError(pgError('57P01')), 'unavailable', 'admin shutdown');
    assert.equal(classifyPostgresError(pgError('3D000')), 'unavailable', 'database does not exist yet');
    assert.equal(classifyPostgresError(pgError('55000')), 'unavailable', 'connections not allowed');
    assert.equal(classifyPostgresError(pgError('42P01')), 'not-migrated');
    assert.equal(classifyPostgresError(pgError('40P01')), 'conflict');
    assert.equal(classifyPostgresError(pgError('22003')), 'data', 'numeric out of range');
    assert.equal(classifyPostgresError(pgError('23502')), 'data');
    assert.equal(classifyPostgresError(pgError('42601')), 'other');
  });
});
