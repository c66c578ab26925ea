import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LambdamartError } from './errors.ts';
import { within } from './within.ts';

describe('within', () => {
  it('passes on the answer that comes in time', async () => {
    assert.equal(await within(Promise.resolve(42), 1_000, 'Kafka'), 42);
  });

  it('passes on the error that comes in time', async () => {
    await assert.rejects(within(Promise.reject(new Error('refused')), 1_000, 'Kafka'), /refused/);
  });

  it('rejects with LM_ERR_SERVICE_TIMEOUT naming what did not answer', async () => {
    const never = new Promise<never>(() => undefined);
    await assert.rejects(within(never, 20, 'Kafka'), (error: unknown) => {
      assert.ok(error instanceof LambdamartError);
      assert.equal(error.code, 'LM_ERR_SERVICE_TIMEOUT');
      assert.equal(error.message, 'Kafka did not answer within 20 ms');
      return true;
    });
  });
});
