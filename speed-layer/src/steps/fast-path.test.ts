/**
 * Property test of the savers' compiled checks (core's fastValidEvent, fitsTheTables): on seeded
 * generated valid events and many malformed mutations of them, prepareEvent gives exactly what the
 * steps one by one (zod contract, storageProblem) give: the same verdict, the same event, the same
 * reason. And the compiled checks never accept what zod refuses, and do accept valid events.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type EventKind, fastValidEvent, validateEvent } from '@lambdamart/core';
import { fitsTheTables } from './check-storable-step.ts';
import { prepareEvent, slowPrepare } from './index.ts';

/** mulberry32: a small seeded generator, so that a failure is reproduced by its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rng = () => number;
const int = (r: Rng, min: number, max: number) => min + Math.floor(r() * (max - min + 1));
const pick = <T>(r: Rng, items: readonly T[]): T => items[int(r, 0, items.length - 1)] as T;
const hex = (r: Rng, n: number) => Array.from({ length: n }, () => pick(r, '0123456789abcdefABCDEF'.split(''))).join('');

function uuid(r: Rng): string {
  const roll = r();
  if (roll < 0.02) return '00000000-0000-0000-0000-000000000000';
  if (roll < 0.04) return 'ffffffff-ffff-ffff-ffff-ffffffffffff';
  return `${hex(r, 8)}-${hex(r, 4)}-${int(r, 1, 8)}${hex(r, 3)}-${pick(r, '89abAB'.split(''))}${hex(r, 3)}-${hex(r, 12)}`;
}

function text(r: Rng, min: number, max: number): string {
  const length = r() < 0.15 ? pick(r, [min, max]) : int(r, min, Math.min(max, min + 20));
  const chars = ['a', 'Z', '7', '_', ' ', 'é', '日', '\t', '\\', '"', '\n'];
  return Array.from({ length }, () => pick(r, chars)).join('');
}

function timestamp(r: Rng): string {
  const roll = r();
  if (roll < 0.05) return '2024-02-29T23:59:59Z';
  if (roll < 0.08) return '9999-12-31T23:59:59.999Z';
  if (roll < 0.1) return '0001-01-01T00:00:00Z';
  const date = new Date(
    Date.UTC(int(r, 1990, 2040), int(r, 0, 11), int(r, 1, 28), int(r, 0, 23), int(r, 0, 59), int(r, 0, 59), int(r, 0, 999)),
  );
  const iso = date.toISOString();
  return pick(r, [iso, iso.replace(/\.\d+Z$/, 'Z'), iso.replace(/(\.\d)\d+Z$/, '$1Z'), iso.replace(/Z$/, '123Z')]);
}

const money = (r: Rng) => (r() < 0.05 ? pick(r, [0, 9_999_999_999.99]) : int(r, 0, 2_000_000) / 100);

function validEvent(kind: EventKind, r: Rng): Record<string, unknown> {
  switch (kind) {
    case 'transaction': {
      const products = Array.from({ length: int(r, 1, 4) }, () => ({
        product_id: text(r, 1, 100),
        quantity: r() < 0.05 ? 2_147_483_647 : int(r, 1, 9),
        price: money(r),
      }));
      const cents = products.reduce((sum, l) => sum + Math.round(l.price * 100) * l.quantity, 0);
      return {
        transaction_id: uuid(r),
        user_id: text(r, 1, 100),
        session_id: text(r, 1, 100),
        products,
        total_amount: cents / 100,
        currency: pick(r, ['USD', 'EUR', 'JPY', 'GBP']),
        payment_method: text(r, 1, 32),
        country: text(r, 2, 64),
        transaction_timestamp: timestamp(r),
      };
    }
    case 'view':
      return {
        event_id: uuid(r),
        event_type: 'view',
        user_id: text(r, 1, 100),
        product_id: text(r, 1, 100),
        session_id: text(r, 1, 100),
        view_duration: r() < 0.1 ? pick(r, [0, 86_400]) : int(r, 0, 600),
        country: text(r, 2, 64),
        timestamp: timestamp(r),
      };
    case 'cart':
      return {
        event_id: uuid(r),
        event_type: pick(r, ['add', 'remove']),
        user_id: text(r, 1, 100),
        product_id: text(r, 1, 100),
        session_id: text(r, 1, 100),
        quantity: r() < 0.05 ? 2_147_483_647 : int(r, 1, 9),
        price: money(r),
        country: text(r, 2, 64),
        timestamp: timestamp(r),
      };
    case 'catalog':
      return { product_id: text(r, 1, 100), name: text(r, 1, 200), category: text(r, 1, 100), price: money(r), updated_at: timestamp(r) };
  }
}

/** Values of the wrong kind, out of range, badly formed, too deep or too long. */
const BAD_VALUES: unknown[] = [
  null,
  true,
  0,
  -0,
  -1,
  1.5,
  -0.01,
  2 ** 31,
  2 ** 53,
  1e10,
  1e300,
  '',
  'x',
  '12',
  'x'.repeat(101),
  'y'.repeat(201),
  'nul\u0000inside',
  'usd',
  'US',
  'USDD',
  'U5D',
  'view',
  'add',
  'remove',
  'purchase',
  '2026-02-30T10:00:00Z',
  '2026-01-01T10:00:00+02:00',
  '2026-01-01T10:00:00',
  '2026-01-01',
  '2026-01-01T24:00:00Z',
  '2026-01-01T10:00:00z',
  '2026-01-01 10:00:00Z',
  '0000-01-01T00:00:00Z',
  '2023-02-29T00:00:00Z',
  '1767225600000',
  'not-a-uuid',
  'a5d1e1b2-0b3c-9d4e-8f50-1234567890ab',
  'A5D1E1B2-0B3C-4D4E-CF50-1234567890AB',
  [],
  [1],
  ['USD'],
  {},
  { nested: { deeper: [1, 2, 3] } },
];

function mutate(event: Record<string, unknown>, r: Rng): unknown {
  const fields = Object.keys(event);
  const field = pick(r, fields);
  const roll = r();
  const copy: Record<string, unknown> = structuredClone(event);
  if (roll < 0.1) {
    delete copy[field];
    return copy;
  }
  if (roll < 0.55) {
    copy[field] = pick(r, BAD_VALUES);
    return copy;
  }
  if (roll < 0.62) {
    copy[field] = [copy[field]]; // extra nesting
    return copy;
  }
  if (roll < 0.67) {
    copy[field] = { value: copy[field] };
    return copy;
  }
  if (roll < 0.72) return pick(r, [null, 42, 'text', [copy], { event: copy }]);
  if (roll < 0.8) {
    copy[`extra_${int(r, 0, 3)}`] = pick(r, BAD_VALUES); // unknown fields are dropped
    return copy;
  }
  if (roll < 0.9 && Array.isArray(copy.products)) {
    const lines = copy.products as Record<string, unknown>[];
    const line = pick(r, lines);
    const key = pick(r, ['product_id', 'quantity', 'price', 'extra']);
    if (r() < 0.2) delete line[key];
    else line[key] = pick(r, BAD_VALUES);
    if (r() < 0.3) copy.products = [];
    return copy;
  }
  if (typeof copy[field] === 'number') copy[field] = (copy[field] as number) + pick(r, [0.01, -0.01, 1, 0.5, 1e10]);
  else if (typeof copy[field] === 'string') copy[field] = `${copy[field] as string}${pick(r, ['', '\u0000', 'x'.repeat(100), 'Z'])}`;
  return copy;
}

const KINDS: EventKind[] = ['transaction', 'view', 'cart', 'catalog'];

describe('compiled checks against zod (seeded property test)', () => {
  it('prepareEvent gives the same verdict, event and reason as the steps one by one', () => {
    const seed = Number(process.env.FAST_PATH_SEED ?? 20261205);
    const r = random(seed);
    let fastAccepted = 0;
    let valid = 0;
    let refused = 0;
    for (let n = 0; n < 40_000; n++) {
      const kind = KINDS[n % KINDS.length] as EventKind;
      const event = validEvent(kind, r);
      const value = n % 5 === 0 ? event : mutate(event, r);
      const raw = Buffer.from(JSON.stringify(value) ?? 'null');
      const parsed = JSON.parse(raw.toString('utf8')) as unknown;
      const fast = prepareEvent(kind, raw);
      const slow = slowPrepare(kind, parsed);
      assert.deepEqual(fast, slow, `seed ${seed}, case ${n} (${kind}): ${raw.toString('utf8').slice(0, 500)}`);
      const contract = validateEvent(kind, parsed);
      const compiled = fastValidEvent(kind, parsed);
      if (compiled !== undefined) {
        fastAccepted++;
        assert.equal(contract.ok, true, `fastValidEvent accepted what zod refuses: case ${n}`);
        if (contract.ok) assert.deepEqual(compiled, contract.value, `case ${n}`);
      }
      if (contract.ok) {
        valid++;
        assert.notEqual(compiled, undefined, `a valid ${kind} missed the compiled check: case ${n}: ${raw.toString('utf8')}`);
        if (slow.ok) assert.equal(fitsTheTables(kind, compiled as never), true, `a storable ${kind} missed fitsTheTables: case ${n}`);
      } else refused++;
    }
    // Both sides are well covered: thousands of valid and thousands of refused events.
    assert.ok(valid > 10_000 && refused > 15_000, `valid ${valid}, refused ${refused}`);
    assert.equal(fastAccepted, valid);
  });
});
