/**
 * The main job behind `npm start`. For now it brings the stack up and says what runs where;
 * the generator, the savers, the batch scheduler and the API join it as they land.
 */
import type { Config } from '@lambdamart/core';
import { stackUp } from './stack.ts';

export async function runDemo(config: Config): Promise<void> {
  await stackUp(config);
  process.stdout.write(
    [
      '',
      'Lambdamart stack is ready.',
      `  Kafka brokers:      ${config.kafka.brokers.join(',')}  (topics: lambdamart stack status)`,
      `  Realtime database:  ${redact(config.realtimeDatabaseUrl)}`,
      `  Warehouse database: ${redact(config.warehouseDatabaseUrl)}`,
      '  Stop it with:       npx lambdamart stack down',
      '',
    ].join('\n'),
  );
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
