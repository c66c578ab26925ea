import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compatibilityPartitioner } from '@platformatic/kafka';
import { KeyCache, valueBuffers } from './kafka-records.ts';

describe('KeyCache', () => {
  it("gives each key's bytes and its Java-compatible murmur2 partition, the same on every call", () => {
    const keys = new KeyCache();
    for (const key of ['u_000001', 'user-7', '', 'clé ☕']) {
      const expected = compatibilityPartitioner(undefined as never, Buffer.from(key));
      assert.equal(keys.partition(key), expected, key);
      assert.equal(keys.partition(key), expected, `${key}, cached`);
      assert.deepEqual(keys.bytes(key), Buffer.from(key));
    }
  });

  it('stays right past the number of keys it keeps', () => {
    const keys = new KeyCache();
    for (let i = 0; i < 100_001; i++) keys.partition(`u_${i}`);
    assert.equal(keys.partition('u_3'), compatibilityPartitioner(undefined as never, Buffer.from('u_3')));
    assert.deepEqual(keys.bytes('u_100000'), Buffer.from('u_100000'));
  });
});

describe('valueBuffers', () => {
  it('encodes one-byte-per-character strings in one buffer and hands out views of it', () => {
    const values = ['{"a":1}', '', '{"b":"xyz"}'];
    const out = valueBuffers(values.map((value) => ({ value })));
    assert.deepEqual(
      out.map((v) => Buffer.from(v as Buffer).toString()),
      values,
    );
    assert.ok(out.every((v) => Buffer.isBuffer(v)));
    assert.equal((out[0] as Buffer).buffer, (out[2] as Buffer).buffer, 'one allocation');
  });

  it('keeps Buffers as they are, and the strings around them right', () => {
    const given = Buffer.from('{"raw":true}');
    const out = valueBuffers([{ value: 'ab' }, { value: given }, { value: 'cd' }]);
    assert.equal(out[1], given);
    assert.equal((out[0] as Buffer).toString(), 'ab');
    assert.equal((out[2] as Buffer).toString(), 'cd');
  });

  it('leaves strings with multi-byte characters to be encoded one by one', () => {
    const values = ['{"name":"café"}', '{"n":1}'];
    assert.deepEqual(valueBuffers(values.map((value) => ({ value }))), values);
  });
});
