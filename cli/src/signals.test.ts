import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

const child = resolve(import.meta.dirname, 'testing/stop-signals-child.ts');

async function runWithSignals(gapsMs: number[]): Promise<{ code: number | null; out: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', child], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (chunk: Buffer) => {
    out += chunk;
  });
  while (!out.includes('ready')) await sleep(20);
  for (const gap of gapsMs) {
    await sleep(gap);
    proc.kill('SIGINT');
  }
  const [code] = (await once(proc, 'exit')) as [number | null];
  return { code, out };
}

describe('onStopSignals', () => {
  it('treats a Ctrl-C delivered twice at once (terminal and npm) as one, and stops cleanly', async () => {
    const run = await runWithSignals([0, 30]);
    assert.equal(run.code, 0, run.out);
    assert.match(run.out, /stopped cleanly after 1 stop/);
  });

  it('forces an exit on a second Ctrl-C that comes later', async () => {
    const run = await runWithSignals([0, 1200]);
    assert.equal(run.code, 130);
    assert.doesNotMatch(run.out, /stopped cleanly/);
  });
});
