/** The API's pure pieces: keys, CSV, ranges, cursors, event validation, error classification. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { keyRing, presentedKey } from './auth.ts';
import { ApiError, isDatabaseUnavailable } from './errors.ts';
import { toCsv } from './respond.ts';
import { eventKindOf, validateEvents } from './routes/events.ts';
import { decodeCursor, encodeCursor, resolveRange } from './schemas.ts';

describe('keys', () => {
  const ring = keyRing([
    { key: 'reader-key-000000000', role: 'read' },
    { key: 'admin-key-0000000000', role: 'admin' },
  ]);
  it('gives the role of a configured key and null for any other', () => {
    assert.equal(ring.roleOf('reader-key-000000000'), 'read');
    assert.equal(ring.roleOf('admin-key-0000000000'), 'admin');
    assert.equal(ring.roleOf('admin-key-000000000'), null);
    assert.equal(ring.roleOf(''), null);
    assert.equal(keyRing([]).configured, false);
  });
  it('reads Authorization: Bearer or X-API-Key', () => {
    assert.equal(presentedKey({ headers: { authorization: 'Bearer abc' } }), 'abc');
    assert.equal(presentedKey({ headers: { authorization: 'bearer  abc ' } }), 'abc');
    assert.equal(presentedKey({ headers: { authorization: 'Basic abc' } }), null);
    assert.equal(presentedKey({ headers: { 'x-api-key': ' k ' } }), 'k');
    assert.equal(presentedKey({ headers: {} }), null);
  });
});

describe('toCsv', () => {
  it('quotes what RFC 4180 needs and defuses spreadsheet formulas', () => {
    assert.equal(toCsv([{ a: 'x,y', b: 'say "hi"', c: null, d: '=1+1', e: 2 }]), 'a,b,c,d,e\r\n"x,y","say ""hi""",,"=1+1",2\r\n');
    assert.equal(toCsv([], ['a', 'b']), 'a,b\r\n');
  });
});

describe('resolveRange', () => {
  const now = new Date('2026-11-21T12:00:00Z');
  it('takes a date `to` as the end of that day and defaults to the last 30 days', () => {
    assert.deepEqual(resolveRange({ from: '2026-11-01', to: '2026-11-20' }, now), {
      from: new Date('2026-11-01T00:00:00Z'),
      to: new Date('2026-11-21T00:00:00Z'),
    });
    assert.deepEqual(resolveRange({}, now), { from: new Date('2026-10-22T12:00:00Z'), to: now });
    assert.deepEqual(resolveRange({ to: '2026-11-20T10:00:00+02:00' }, now).to, new Date('2026-11-20T08:00:00Z'));
    assert.throws(
      () => resolveRange({ from: '2026-11-20', to: '2026-11-19' }, now),
      (e) => e instanceof ApiError && e.statusCode === 400,
    );
  });
});

describe('cursors', () => {
  it('round-trip, and a tampered one is a 400', () => {
    const schema = z.object({ o: z.number() });
    assert.deepEqual(decodeCursor(encodeCursor({ o: 5 }), schema), { o: 5 });
    assert.equal(decodeCursor(undefined, schema), undefined);
    assert.throws(
      () => decodeCursor('garbage', schema),
      (e) => e instanceof ApiError && e.statusCode === 400,
    );
    assert.throws(
      () => decodeCursor(encodeCursor({ o: 'x' }), schema),
      (e) => e instanceof ApiError && e.statusCode === 400,
    );
  });
});

describe('validateEvents', () => {
  const view = {
    event_id: randomUUID(),
    event_type: 'view',
    user_id: 'u',
    product_id: 'p',
    session_id: 's',
    view_duration: 3,
    country: 'US',
    timestamp: '2026-11-20T10:00:00Z',
  };
  it('tells the kind of each event from its shape', () => {
    assert.equal(eventKindOf({ transaction_id: 'x' }), 'transaction');
    assert.equal(eventKindOf({ event_type: 'view' }), 'view');
    assert.equal(eventKindOf({ event_type: 'remove' }), 'cart');
    assert.equal(eventKindOf({ name: 'Ball', updated_at: 'x' }), 'catalog');
    assert.equal(eventKindOf({ event_type: 'click' }), null);
  });
  it('names the index and field of every problem', () => {
    const { events, problems } = validateEvents([view, { ...view, country: 'U', timestamp: 'yesterday' }]);
    assert.equal(events.length, 1);
    assert.deepEqual(
      problems.map((p) => [p.index, p.field]),
      [
        [1, 'body[1].country'],
        [1, 'body[1].timestamp'],
      ],
    );
  });
});

describe('isDatabaseUnavailable', () => {
  it('tells a database that is down from a query that is wrong', () => {
    assert.equal(isDatabaseUnavailable(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), true);
    assert.equal(isDatabaseUnavailable(Object.assign(new Error('database "x" does not exist'), { code: '3D000' })), true);
    assert.equal(isDatabaseUnavailable(Object.assign(new Error('terminating connection'), { code: '57P01' })), true);
    assert.equal(isDatabaseUnavailable(new Error('Connection terminated unexpectedly')), true);
    assert.equal(isDatabaseUnavailable(Object.assign(new Error('syntax error'), { code: '42601' })), false);
  });
});
