import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OrderLevelProduct, orderLevelLines } from './convert.ts';
import { RowCounts } from './row-counts.ts';

describe('order-level lines', () => {
  const cents = (lines: { quantity: number; price: number }[]) => lines.reduce((sum, l) => sum + Math.round(l.price * 100) * l.quantity, 0);

  it('price = amount / quantity, the remaining cents on a second line at one cent more', () => {
    assert.deepEqual(orderLevelLines(7.5, 2), [{ product_id: OrderLevelProduct.product_id, quantity: 2, price: 3.75 }]);
    assert.deepEqual(orderLevelLines(10, 3), [
      { product_id: OrderLevelProduct.product_id, quantity: 2, price: 3.33 },
      { product_id: OrderLevelProduct.product_id, quantity: 1, price: 3.34 },
    ]);
    for (const [amount, quantity] of [
      [0.01, 7],
      [11.77, 1],
      [1234.56, 13],
      [0, 2],
    ] as const) {
      const lines = orderLevelLines(amount, quantity);
      assert.equal(cents(lines), Math.round(amount * 100), `${amount} for ${quantity}`);
      assert.equal(
        lines.reduce((sum, l) => sum + l.quantity, 0),
        quantity,
      );
    }
  });

  it('refuses what is not a sale', () => {
    assert.throws(() => orderLevelLines(5, 0), /quantity: 0/);
    assert.throws(() => orderLevelLines(5, 1.5), /quantity: 1.5/);
    assert.throws(() => orderLevelLines(-5, 1), /negative/);
  });
});

describe('RowCounts', () => {
  it('counts the rows of each id and tells when the last one is read', () => {
    const counts = new RowCounts();
    const ids = Array.from({ length: 5000 }, (_, i) => `inv-${i}`);
    for (const id of ids) for (let r = 0; r < 3; r++) counts.add(id);
    assert.equal(counts.size, 5000);
    for (const id of ids) {
      assert.equal(counts.take(id), 2);
      assert.equal(counts.take(id), 1);
      assert.equal(counts.take(id), 0);
    }
  });

  it('never reports an invoice complete early when its count overflows', () => {
    const counts = new RowCounts();
    for (let r = 0; r < 70_000; r++) counts.add('huge');
    for (let r = 0; r < 70_000; r++) assert.ok(counts.take('huge') > 0);
  });
});
