/**
 * Producing with kcat (librdkafka): a Kafka client that is not ours, with its own batching and
 * compression, so the savers are tested against what other producers really write.
 */
import { spawn } from 'node:child_process';
import type { Config } from '@lambdamart/core';

export type KcatCodec = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/**
 * Produces `lines` (one message each, no newline inside) to `topic` with `kcat -P -z <codec>`;
 * with `key`, every message has that key. Resolves once kcat has flushed and exited 0.
 */
export async function kcatProduce(
  config: Config,
  topic: string,
  lines: readonly string[],
  options: { codec?: KcatCodec; key?: string; extra?: string[] } = {},
): Promise<void> {
  const args = ['-b', config.kafka.brokers.join(','), '-P', '-t', topic, '-z', options.codec ?? 'none', '-X', 'linger.ms=50'];
  let input = lines.join('\n');
  if (options.key !== undefined) {
    args.push('-K', '\t');
    input = lines.map((line) => `${options.key}\t${line}`).join('\n');
  }
  args.push(...(options.extra ?? []));
  await new Promise<void>((resolve, reject) => {
    const child = spawn('kcat', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`kcat ${args.join(' ')} exited ${code}: ${stderr.trim().slice(0, 2000)}`)),
    );
    child.stdin.end(`${input}\n`);
  });
}
