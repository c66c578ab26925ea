import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValueBytes } from './value-bytes.ts';

describe('ValueBytes', () => {
  it("hands out each value's UTF-8 bytes, in order, and counts what it wrote", () => {
    const values = ['{"a":1}', '', '{"name":"café ☕"}', '\ud800', 'x'.repeat(300)];
    const bytes = new ValueBytes();
    const written = values.map((value) => bytes.add(value));
    const views = bytes.take();
    assert.equal(views.length, values.length);
    assert.deepEqual(
      views.map((view) => view.toString()),
      values.map((value) => Buffer.from(value).toString()),
    );
    assert.deepEqual(
      written,
      values.map((value) => Buffer.byteLength(value)),
    );
    assert.deepEqual(bytes.take(), [], 'take() starts the next batch');
  });

  it('grows past its first buffer without changing the values already added', () => {
    const bytes = new ValueBytes(16 * 1024);
    const values = Array.from({ length: 2_000 }, (_, i) => `{"event_id":"e-${i}","name":"${'é'.repeat(i % 40)}"}`);
    for (const value of values) bytes.add(value);
    assert.deepEqual(
      bytes.take().map((view) => view.toString()),
      values,
    );
  });

  it('keeps the views of a batch intact while the next batch is written', () => {
    const bytes = new ValueBytes();
    bytes.add('first batch');
    const first = bytes.take();
    for (let i = 0; i < 10_000; i++) bytes.add(`second batch ${i}`);
    bytes.take();
    assert.equal(first[0]?.toString(), 'first batch');
  });
});
