/** What a saved batch changes in the savers' counters, metrics and health. */

import type { SaveResult } from '../store.ts';
import { unblock } from './blocked-partitions.ts';
import type { Work } from './partition-queues.ts';
import type { SaverRuntime } from './runtime.ts';

export function recordSave(
  rt: SaverRuntime,
  topic: string,
  partition: number,
  work: Work,
  result: SaveResult & { status: 'saved' },
  seconds: number,
): void {
  rt.saved += result.inserted;
  rt.lastCommitAt = new Date().toISOString();
  rt.consumerRestarts = 0;
  unblock(rt, topic, partition);
  rt.metrics.events.inc({ topic, outcome: 'saved' }, result.inserted);
  if (result.duplicates > 0) rt.metrics.events.inc({ topic, outcome: 'duplicate' }, result.duplicates);
  const deadLetters = work.deadLetters.length;
  if (deadLetters > 0) {
    rt.metrics.events.inc({ topic, outcome: 'dead_letter' }, deadLetters);
    rt.metrics.deadLetters.inc({ topic }, deadLetters);
  }
  rt.metrics.batchSize.observe({ topic }, work.messages);
  rt.metrics.commitSeconds.observe({ topic }, seconds);
  const lag = BigInt(work.highWatermark) - BigInt(work.next);
  rt.metrics.lag.set({ topic, partition: String(partition) }, Number(lag > 0n ? lag : 0n));
  if (seconds > 5) rt.logger.warn({ topic, partition, seconds }, 'PostgreSQL is slow to commit');
  rt.logger.debug({ topic, partition, next: work.next, inserted: result.inserted, seconds }, 'batch saved');
}
