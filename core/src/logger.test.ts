import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

const logOnce = (pretty: string) => `
  import { createLogger } from './core/src/logger.ts';
  createLogger('speed-layer', 'info', ${pretty}).warn({ topic: 't', partition: 1 }, 'PostgreSQL is down; pausing');`;

function run(pretty: string): string {
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', logOnce(pretty)], {
    encoding: 'utf8',
    cwd: new URL('../..', import.meta.url).pathname,
  });
  assert.equal(child.status, 0, child.stderr);
  return child.stdout;
}

describe('createLogger', () => {
  it('writes one JSON object per line when not on a terminal', () => {
    const line = JSON.parse(run('{}').trim());
    assert.equal(line.msg, 'PostgreSQL is down; pausing');
    assert.equal(line.component, 'speed-layer');
    assert.equal(line.level, 40);
  });

  it('writes a readable line when pretty (a terminal)', () => {
    const out = run('{ pretty: true }');
    assert.match(out, /^\[\d{2}:\d{2}:\d{2}\] WARN: PostgreSQL is down; pausing\n/);
    assert.match(out, /component: "speed-layer"/);
    assert.throws(() => JSON.parse(out));
  });
});
