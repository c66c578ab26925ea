/**
 * Producing with kcat (librdkafka), a Kafka client that is not ours: one message per call, its
 * value read from a file so that any bytes (invalid UTF-8, NUL, over 1 MiB) arrive exactly as
 * written; an empty value and a tombstone (no value) through kcat's line mode.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '@lambdamart/core';

/** librdkafka's own limit on a message (default 1,000,000 bytes), raised for the oversize cases. */
const MAX_MESSAGE_BYTES = String(8 * 1024 * 1024);

function run(args: string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 && !/ERROR|failed/i.test(stderr)
        ? resolve()
        : reject(new Error(`kcat ${args.join(' ')} exited ${code}: ${stderr.trim().slice(0, 2000)}`)),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Sends one message with key `key` and value `value` (null: a tombstone) to `topic`, `copies` times. */
export async function kcatSend(config: Config, topic: string, key: string, value: string | Buffer | null, copies = 1): Promise<void> {
  const base = ['-b', config.kafka.brokers.join(','), '-P', '-t', topic, '-X', `message.max.bytes=${MAX_MESSAGE_BYTES}`];
  if (value === null || value.length === 0) {
    // Line mode: "key<TAB>" and nothing after is an empty value; with -Z, a null one.
    const line = `${key}\t\n`.repeat(copies);
    await run([...base, '-K', '\t', ...(value === null ? ['-Z'] : [])], line);
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'lambdamart-kcat-'));
  try {
    const file = join(dir, 'message');
    await writeFile(file, value);
    // Each file given to kcat -P is one message.
    await run([...base, '-k', key, ...Array.from({ length: copies }, () => file)]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Sends `lines` (JSON without newlines) in one kcat call, each keyed by `keyOf(line index)`. */
export async function kcatSendLines(config: Config, topic: string, lines: readonly { key: string; value: string }[]): Promise<void> {
  const base = ['-b', config.kafka.brokers.join(','), '-P', '-t', topic, '-K', '\t', '-X', 'linger.ms=20'];
  await run(base, `${lines.map((l) => `${l.key}\t${l.value}`).join('\n')}\n`);
}
