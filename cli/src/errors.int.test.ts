/** What a user sees when something is wrong: one line on stderr, a non-zero exit, no stack trace. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';

const main = resolve(import.meta.dirname, 'main.ts');

function lambdamart(args: string[], env: Record<string, string> = {}) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', main, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

function assertOneLine(err: string, pattern: RegExp) {
  const lines = err.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${err}`);
  assert.match(lines[0] ?? '', pattern);
  assert.doesNotMatch(err, /\n\s+at /, 'no stack trace');
}

describe('lambdamart errors', () => {
  it('a bad environment value stops with exit 2 naming the variable', () => {
    const run = lambdamart(['stack', 'status'], { API_PORT: 'eighty' });
    assert.equal(run.code, 2);
    assertOneLine(run.err, /^lambdamart: Invalid environment variable API_PORT="eighty": expected a TCP port number$/);
  });

  it('an unknown flag and conflicting flags stop with one line', () => {
    const unknown = lambdamart(['migrate', '--sideways']);
    assert.equal(unknown.code, 1);
    assertOneLine(unknown.err, /^lambdamart: unknown option '--sideways'/);
    const conflict = lambdamart(['migrate', '--realtime', '--warehouse']);
    assert.equal(conflict.code, 1);
    assertOneLine(conflict.err, /cannot be used with option/);
  });

  it('purge refuses an age under one day with one line', () => {
    const run = lambdamart(['batch', 'purge', '--older-than', '0d']);
    assert.equal(run.code, 1);
    assertOneLine(run.err, /^lambdamart: option '--older-than <age>' argument '0d' is invalid\. expected an age of at least 1d/);
  });

  it('an unreachable PostgreSQL is one line that says where and how to fix it', () => {
    const run = lambdamart(['migrate', '--realtime'], { REALTIME_DATABASE_URL: 'postgres://lambdamart:x@127.0.0.1:1/nowhere' });
    assert.equal(run.code, 1);
    assertOneLine(run.err, /PostgreSQL at 127\.0\.0\.1:1\/nowhere refused the connection: .*ECONNREFUSED.*lambdamart stack up/);
  });

  it('an unreachable Kafka makes status exit 1 and name it DOWN', () => {
    const run = lambdamart(['stack', 'status'], { KAFKA_BROKERS: '127.0.0.1:1' });
    assert.equal(run.code, 1);
    assert.match(run.out, /kafka\s+127\.0\.0\.1:1\s+DOWN/);
    assert.equal(run.err, '', 'kafkajs logs nothing on its own');
  });
});
