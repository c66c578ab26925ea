import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCodes, LambdamartError } from '@lambdamart/core';
import { backoffMs, isRefusedAsData, postgresFailure, retryCause } from './retry.ts';

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

  it('classifies Postgres failures by what can help: a code, and retriable unless the data is refused', () => {
    const codeOf = (error: unknown) => postgresFailure(error).code;
    assert.equal(codeOf(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), 'LM_ERR_POSTGRES_UNREACHABLE');
    assert.equal(codeOf(new Error('Connection terminated unexpectedly')), 'LM_ERR_POSTGRES_UNREACHABLE');
    assert.equal(codeOf(pgError('57P01')), 'LM_ERR_POSTGRES_UNREACHABLE', 'admin shutdown');
    assert.equal(codeOf(pgError('3D000')), 'LM_ERR_POSTGRES_UNREACHABLE', 'database does not exist yet');
    assert.equal(codeOf(pgError('55000')), 'LM_ERR_POSTGRES_UNREACHABLE', 'connections not allowed');
    assert.equal(codeOf(pgError('42P01')), 'LM_ERR_SPEED_NOT_MIGRATED');
    assert.equal(codeOf(pgError('40P01')), 'LM_ERR_SPEED_WRITE_CONFLICT');
    assert.equal(codeOf(pgError('22003')), 'LM_ERR_SPEED_ROW_REFUSED', 'numeric out of range');
    assert.equal(codeOf(pgError('23502')), 'LM_ERR_SPEED_ROW_REFUSED');
    assert.equal(codeOf(pgError('42601')), 'LM_ERR_SPEED_POSTGRES_REFUSED');
    assert.equal(codeOf(new Error('something else')), 'LM_ERR_SPEED_POSTGRES_REFUSED');
    for (const code of ['57P01', '42P01', '40P01', '42501']) assert.equal(postgresFailure(pgError(code)).retriable, true, code);
    assert.equal(postgresFailure(pgError('22003')).retriable, false);
  });

  it('a classified failure keeps the driver message with its SQLSTATE, the original as cause, and every code is in the catalogue', () => {
    const original = Object.assign(new Error('permission denied for table product_view_events'), { code: '42501' });
    const failure = postgresFailure(original);
    assert.ok(failure instanceof LambdamartError);
    assert.equal(failure.message, 'permission denied for table product_view_events (42501)');
    assert.equal(failure.cause, original);
    assert.equal(postgresFailure(failure), failure, 'classified once');
    assert.ok(isRefusedAsData(postgresFailure(pgError('23514'))));
    assert.ok(!isRefusedAsData(failure));
    for (const code of ['57P01', '42P01', '40P01', '42501', '22003']) assert.ok(postgresFailure(pgError(code)).code in ErrorCodes);
    assert.deepEqual(
      (
        [
          'LM_ERR_POSTGRES_UNREACHABLE',
          'LM_ERR_SPEED_NOT_MIGRATED',
          'LM_ERR_SPEED_WRITE_CONFLICT',
          'LM_ERR_SPEED_POSTGRES_REFUSED',
        ] as const
      ).map(retryCause),
      ['unavailable', 'not-migrated', 'conflict', 'other'],
    );
  });
});
