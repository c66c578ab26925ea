import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CatalogRecord, toCents, validateEvent } from '@lambdamart/core';
import { generateEvents, serializeEvent } from './generate.ts';
import type { GeneratedEvent } from './generated-event.ts';
import { expectedMix, funnelFor, parseMix } from './mix.ts';
import { formatUuid, Rng } from './random.ts';

const start = Date.parse('2025-11-01T00:00:00Z');
const history = (extra: Parameters<typeof generateEvents>[0] = {}) =>
  [...generateEvents({ seed: 7, start, days: 3, eventsPerDay: 20_000, ...extra })] as GeneratedEvent[];

describe('generateEvents', () => {
  const events = history();
  const good = events.filter((e) => e.bad === undefined);

  it('is deterministic: the same seed and options give the same events, ids included', () => {
    const again = history();
    assert.equal(again.length, events.length);
    assert.deepEqual(again.map(serializeEvent), events.map(serializeEvent));
    const other = history({ seed: 8 });
    assert.notDeepEqual(other.slice(600, 700).map(serializeEvent), events.slice(600, 700).map(serializeEvent));
  });

  it('leaves the good events unchanged when bad events are mixed in, and marks every bad one', () => {
    const mixed = history({ badRate: 0.05 });
    const bad = mixed.filter((e) => e.bad !== undefined);
    assert.ok(bad.length > 0.03 * good.length, `${bad.length} bad events`);
    assert.deepEqual(mixed.filter((e) => e.bad === undefined).map(serializeEvent), good.map(serializeEvent));
    const kinds = new Set(bad.map((e) => e.bad));
    assert.deepEqual([...kinds].sort(), [
      'duplicate_id',
      'malformed_json',
      'missing_field',
      'negative_quantity',
      'unknown_product',
      'wrong_total',
    ]);
    for (const e of bad) {
      if (e.bad === 'malformed_json') assert.throws(() => JSON.parse(serializeEvent(e)));
      else if (e.bad === 'unknown_product' || e.bad === 'duplicate_id') assert.equal(validateEvent(e.kind, e.event).ok, true);
      else assert.equal(validateEvent(e.kind, e.event).ok, false, `${e.bad} should break the contract`);
    }
  });

  it('sends the whole catalog first, then events in event-time order, every one valid', () => {
    const firstUser = events.findIndex((e) => e.kind !== 'catalog');
    assert.equal(firstUser, 500);
    assert.ok(events.slice(0, 500).every((e) => e.kind === 'catalog'));
    for (let i = 1; i < events.length; i++)
      assert.ok((events[i] as GeneratedEvent).time >= (events[i - 1] as GeneratedEvent).time, `order at ${i}`);
    for (const e of good) {
      const result = validateEvent(e.kind, e.event);
      assert.ok(result.ok, result.ok ? '' : `${e.kind}: ${result.reason}`);
      assert.equal(JSON.parse(serializeEvent(e)).constructor, Object);
      assert.deepEqual(JSON.parse(serializeEvent(e)), JSON.parse(JSON.stringify(e.event)));
    }
    const last = events.at(-1) as GeneratedEvent;
    assert.ok(last.time < start + 3 * 86_400_000);
  });

  it('keeps the funnel: every transaction line has an earlier view and cart add of that product in the same session', () => {
    const seen = new Map<string, { viewed: Set<string>; carted: Map<string, number> }>();
    let transactions = 0;
    for (const e of good) {
      if (e.kind === 'view' || e.kind === 'cart') {
        const s = seen.get(e.event.session_id) ?? { viewed: new Set(), carted: new Map() };
        seen.set(e.event.session_id, s);
        if (e.kind === 'view') s.viewed.add(e.event.product_id);
        else {
          assert.ok(s.viewed.has(e.event.product_id), 'a cart event follows a view of its product');
          if (e.event.event_type === 'add') s.carted.set(e.event.product_id, e.event.quantity);
          else s.carted.delete(e.event.product_id);
        }
      } else if (e.kind === 'transaction') {
        transactions++;
        const s = seen.get(e.event.session_id);
        assert.ok(s, 'a transaction follows its session');
        for (const line of e.event.products) {
          assert.ok(s.viewed.has(line.product_id), `${line.product_id} was viewed`);
          assert.equal(s.carted.get(line.product_id), line.quantity, `${line.product_id} is in the cart with that quantity`);
        }
        const view = good.find((v) => v.kind === 'view' && v.event.session_id === e.event.session_id);
        assert.equal(view?.kind === 'view' ? view.event.user_id : undefined, e.event.user_id, 'same user');
      }
    }
    assert.ok(transactions > 100);
  });

  it('makes total_amount the sum of the lines, in cents', () => {
    for (const e of good) {
      if (e.kind !== 'transaction') continue;
      const lines = e.event.products.reduce((sum, l) => sum + toCents(l.price) * l.quantity, 0);
      assert.equal(toCents(e.event.total_amount), lines);
    }
  });

  it('follows the requested mix', () => {
    const counts = { view: 0, cart: 0, transaction: 0 };
    for (const e of good) if (e.kind !== 'catalog') counts[e.kind]++;
    const total = counts.view + counts.cart + counts.transaction;
    assert.ok(Math.abs(counts.view / total - 0.6) < 0.03, JSON.stringify(counts));
    assert.ok(Math.abs(counts.cart / total - 0.3) < 0.03, JSON.stringify(counts));
    assert.ok(Math.abs(counts.transaction / total - 0.1) < 0.02, JSON.stringify(counts));
    const other = history({ mix: parseMix('view=80,cart=15,transaction=5') }).filter((e) => e.kind === 'view');
    assert.ok(Math.abs(other.length / (history({ mix: parseMix('view=80,cart=15,transaction=5') }).length - 500) - 0.8) < 0.03);
  });

  it('changes prices or categories now and then, and moves a few customers (SCD2 history)', () => {
    const catalog = good.filter((e) => e.kind === 'catalog');
    assert.ok(catalog.length > 510, `${catalog.length} catalog records`);
    const countries = new Map<string, Set<string>>();
    for (const e of good) {
      if (e.kind === 'catalog') continue;
      const set = countries.get(e.event.user_id) ?? new Set();
      set.add(e.event.country);
      countries.set(e.event.user_id, set);
    }
    const movers = [...countries.values()].filter((s) => s.size > 1).length;
    assert.ok(movers > 0 && movers < countries.size * 0.05, `${movers} movers of ${countries.size}`);
  });

  it('has daily seasonality: evenings busier than nights', () => {
    const byHour = new Array(24).fill(0);
    for (const e of good) if (e.kind === 'view') byHour[new Date(e.time).getUTCHours()]++;
    assert.ok(byHour[20] > 3 * byHour[3], `20h ${byHour[20]} vs 3h ${byHour[3]}`);
  });

  it('gives customers Zipf-like activity', () => {
    const perUser = new Map<string, number>();
    for (const e of good) if (e.kind === 'view') perUser.set(e.event.user_id, (perUser.get(e.event.user_id) ?? 0) + 1);
    const sorted = [...perUser.values()].sort((a, b) => b - a);
    const top = sorted.slice(0, Math.ceil(sorted.length / 100)).reduce((a, b) => a + b, 0);
    const all = sorted.reduce((a, b) => a + b, 0);
    assert.ok(top / all > 0.05, `top 1% of customers make ${((100 * top) / all).toFixed(1)}% of views`);
  });

  it('stops after count user events in live mode, stamping from start at about the given rate', () => {
    const live = [...generateEvents({ seed: 1, start, count: 1000, eventsPerSecond: 100 })];
    assert.equal(live.filter((e) => e.kind !== 'catalog').length, 1000);
    const span = (live.at(-1) as GeneratedEvent).time - start;
    // Sessions last minutes, so the first ones ramp up, and each of the 16 shards stops at its own
    // share of the count (the span is the latest of them): above 10 s but well under the 200 s of 20/s.
    assert.ok(span > 10_000 && span < 100_000, `1000 events at 100/s span ${span} ms`);
  });
});

describe('the catalog across runs', () => {
  type Catalog = Map<string, CatalogRecord>;
  const catalogOf = (events: readonly GeneratedEvent[]) => events.flatMap((e) => (e.kind === 'catalog' ? [e.event] : []));
  /** The speed layer's products table: the newest record per product wins, an older one arriving later does not. */
  const current = (records: readonly CatalogRecord[], into: Catalog = new Map()): Catalog => {
    for (const r of records) {
      const held = into.get(r.product_id);
      if (!held || Date.parse(r.updated_at) >= Date.parse(held.updated_at)) into.set(r.product_id, r);
    }
    return into;
  };
  const day = 86_400_000;
  const run = (from: number, days: number) => [...generateEvents({ seed: 7, start: from, days, eventsPerDay: 2000 })];

  it('a later run starts from the prices and categories an earlier run left, and re-sends no version it would change', () => {
    const first = catalogOf(run(start, 3));
    assert.ok(first.length > 502, `${first.length - 500} changes in 3 days`);
    const afterFirst = current(first);
    const secondStart = catalogOf(run(start + 3 * day, 1)).slice(0, 500);
    assert.deepEqual(current(secondStart, current(first)), afterFirst, 'the products table is what the first run left');
    for (const record of secondStart) {
      assert.ok(Date.parse(record.updated_at) <= start + 3 * day, `${record.product_id} dated from when its version began`);
      assert.deepEqual(record, afterFirst.get(record.product_id), `${record.product_id}: the version the first run ended with`);
    }
  });

  it('is a function of time: a run starting inside another sees the same versions and the same changes', () => {
    const whole = catalogOf(run(start, 3));
    const middle = start + 1.5 * day;
    const later = catalogOf(run(middle, 1.5));
    const asOf = (records: readonly CatalogRecord[], t: number) => current(records.filter((r) => Date.parse(r.updated_at) <= t));
    assert.deepEqual(current(later.slice(0, 500)), asOf(whole, middle), 'the catalog at its start');
    const changesAfter = (records: readonly CatalogRecord[]) => records.filter((r) => Date.parse(r.updated_at) > middle);
    assert.deepEqual(changesAfter(later.slice(500)), changesAfter(whole), 'the same changes after it');
    assert.ok(changesAfter(whole).length > 10);
  });
});

describe('Rng', () => {
  it('makes RFC 4122 version-4 UUIDs, reproducibly', () => {
    const a = new Rng(3);
    const b = new Rng(3);
    for (let i = 0; i < 1000; i++) {
      const id = a.uuid();
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(id, b.uuid());
    }
  });

  it('formats the four words of a UUID in order, with the version and variant bits set', () => {
    assert.equal(formatUuid(0x01234567, 0x89abcdef, 0xfedcba98, 0x76543210), '01234567-89ab-4def-bedc-ba9876543210');
    assert.equal(formatUuid(0, 0, 0, 0), '00000000-0000-4000-8000-000000000000');
  });
});

describe('the mix', () => {
  it('parses kind=weight lists and turns them into a funnel with that expected mix', () => {
    const mix = parseMix('transaction=10, view=60,cart=30');
    const expected = expectedMix(funnelFor(mix));
    assert.ok(Math.abs(expected.view - 0.6) < 1e-9 && Math.abs(expected.transaction - 0.1) < 1e-9, JSON.stringify(expected));
  });

  for (const [text, message] of [
    ['view=60,cart=30,checkout=10', /not kind=weight/],
    ['view=0,cart=1', /starts with a view/],
    ['view=10,cart=50', /at most 1.15x the views/],
    ['view=10,cart=1,transaction=30', /too many transactions/],
    ['view=1,view=2', /twice/],
  ] as const) {
    it(`refuses ${text}`, () => assert.throws(() => parseMix(text), message));
  }
});

describe('live runs', () => {
  it('never repeat the ids of a run that started at another time', () => {
    const ids = (at: number) =>
      new Set([...generateEvents({ seed: 42, start: at, count: 500 })].flatMap((e) => (e.kind === 'view' ? [e.event.event_id] : [])));
    const first = ids(start);
    const again = ids(start);
    const later = ids(start + 60_000);
    assert.deepEqual(again, first);
    assert.equal([...later].filter((id) => first.has(id)).length, 0);
  });
});
