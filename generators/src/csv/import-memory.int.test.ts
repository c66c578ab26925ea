/**
 * A large import streams in constant memory: 80 MB of transactions (about 900,000 rows, quoted
 * commas and quotes, CRLF, thousands separators, a reject every 1000 rows) through the parser in a
 * process of its own, whose peak resident memory must stay under 200 MB. (The 1 GB case is
 * measured by hand with the same script: see the generators README section.)
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { writeLargeTransactionsCsv } from '../testing/write-csv.ts';

const dir = mkdtempSync(join(tmpdir(), 'lambdamart-import-memory-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('a large CSV import', () => {
  it('stays under 200 MB of resident memory', async () => {
    const file = join(dir, 'large.csv');
    const rows = await writeLargeTransactionsCsv(file, 80);
    const script = resolve(import.meta.dirname, '../testing/import-to-null.ts');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', script, file, 'transactions', join(dir, 'rejects.csv')],
      {
        maxBuffer: 1 << 20,
      },
    );
    const result = JSON.parse(stdout.trim()) as {
      rows: number;
      rejected: number;
      events: number;
      bytesRead: number;
      totalBytes: number;
      maxRssMb: number;
    };
    assert.equal(result.rows, rows);
    assert.equal(result.bytesRead, result.totalBytes);
    // Three rows per invoice; an invoice with a negative quantity is rejected whole.
    assert.equal(result.events + result.rejected / 3, Math.ceil(rows / 3));
    assert.ok(result.maxRssMb < 200, `peak RSS ${result.maxRssMb} MB`);
  });
});
