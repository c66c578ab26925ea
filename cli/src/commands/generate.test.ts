import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';

const main = resolve(import.meta.dirname, '../main.ts');
const dir = mkdtempSync(join(tmpdir(), 'lambdamart-generate-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function generate(args: string[]): Promise<{ sent: number; elapsedMs: number }> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', main, 'generate', ...args, '--json'], {
    env: { ...process.env, LOG_LEVEL: 'warn' },
    timeout: 120_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) as string);
}

describe('lambdamart generate', () => {
  it('backfills --start/--days as fast as it can when --rate is not given, at --rate when it is', async () => {
    // 15,000 user events: 30 s at the live default of 500/s.
    const history = ['--start', '2025-11-01', '--days', '1', '--per-day', '15000', '--seed', '3'];
    const fast = await generate([...history, '--out', join(dir, 'fast.jsonl')]);
    assert.ok(fast.sent > 15_000, `${fast.sent} sent`);
    assert.ok(fast.elapsedMs < 10_000, `${fast.sent} events took ${fast.elapsedMs} ms: throttled`);
    const paced = await generate([...history, '--count', '1500', '--rate', '2000', '--out', join(dir, 'paced.jsonl')]);
    // 500 catalog records and 1,500 events at 2,000/s: about a second, not a burst.
    assert.ok(paced.elapsedMs > 700, `an explicit --rate 2000 is kept: ${paced.sent} events in ${paced.elapsedMs} ms`);
    assert.equal(readFileSync(join(dir, 'paced.jsonl'), 'utf8').trim().split('\n').length, paced.sent);
  });
});
