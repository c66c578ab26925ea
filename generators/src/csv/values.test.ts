import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detectDateFormat, detectNumberStyle, parseDate, parseNumber } from './values.ts';

describe('CSV values', () => {
  it('reads numbers with thousands separators, decimal commas and currency signs', () => {
    assert.equal(parseNumber('1,234.56'), 1234.56);
    assert.equal(parseNumber('$1,234,567.5'), 1234567.5);
    assert.equal(parseNumber('1.234,56', 'comma'), 1234.56);
    assert.equal(parseNumber('12,5', 'comma'), 12.5);
    assert.equal(parseNumber('€ 9,99', 'comma'), 9.99);
    assert.equal(parseNumber('1 234,50', 'comma'), 1234.5);
    assert.equal(parseNumber('-3'), -3);
    assert.equal(parseNumber('(4.50)'), -4.5);
    assert.equal(parseNumber('12,34.5'), undefined, 'a misplaced separator is not a number');
    assert.equal(parseNumber('abc'), undefined);
    assert.equal(parseNumber(''), undefined);
  });

  it('detects the number style of a column from its values', () => {
    assert.equal(detectNumberStyle(['1.234,56', '12,5'], ','), 'comma');
    assert.equal(detectNumberStyle(['1,234.56', '3.5'], ';'), 'dot');
    assert.equal(detectNumberStyle(['12', '7'], ';'), 'comma');
    assert.equal(detectNumberStyle(['12', '7'], ','), 'dot');
  });

  it('detects date formats: ISO, day first, month first, epoch seconds and milliseconds', () => {
    assert.equal(detectDateFormat(['2025-11-01', '2025-11-02T10:00:00Z', '2025-11-03 08:15']), 'iso');
    assert.equal(detectDateFormat(['01/02/2025', '25/12/2025 10:15']), 'dmy');
    assert.equal(detectDateFormat(['01/02/2025', '12/25/2025']), 'mdy');
    assert.equal(detectDateFormat(['01/02/2025', '03/04/2025']), 'dmy', 'ambiguous: day first');
    assert.equal(detectDateFormat(['31.12.2025', '01.01.2026']), 'dmy');
    assert.equal(detectDateFormat(['1764547200', '1764633600']), 'epoch-s');
    assert.equal(detectDateFormat(['1764547200000']), 'epoch-ms');
    assert.equal(detectDateFormat(['hello', '2025-11-01']), undefined);
  });

  it('reads dates as UTC and refuses impossible ones', () => {
    const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
    assert.equal(iso(parseDate('25/12/2025 10:15', 'dmy')), '2025-12-25T10:15:00.000Z');
    assert.equal(iso(parseDate('12/25/2025', 'mdy')), '2025-12-25T00:00:00.000Z');
    assert.equal(iso(parseDate('2025-11-01 08:00', 'iso')), '2025-11-01T08:00:00.000Z');
    assert.equal(iso(parseDate('2025-11-01T08:00:00+02:00', 'iso')), '2025-11-01T06:00:00.000Z');
    assert.equal(iso(parseDate('1764547200', 'epoch-s')), '2025-12-01T00:00:00.000Z');
    assert.equal(iso(parseDate('1764547200000', 'epoch-ms')), '2025-12-01T00:00:00.000Z');
    assert.equal(parseDate('31/02/2025', 'dmy'), undefined);
    assert.equal(parseDate('13/13/2025', 'dmy'), undefined);
    assert.equal(parseDate('yesterday', 'iso'), undefined);
  });
  it('reads compact dates (19970101) only when every value is a real day', () => {
    assert.equal(detectDateFormat(['19970101', '19971231']), 'ymd-compact');
    assert.equal(parseDate('19970102', 'ymd-compact'), Date.UTC(1997, 0, 2));
    assert.equal(detectDateFormat(['19970101', '19970231']), undefined, 'no February 31st: an id, not a date');
    assert.equal(detectDateFormat(['00012345']), undefined);
  });
});
