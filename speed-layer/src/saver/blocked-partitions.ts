/**
 * Blocked partitions: a partition paused because what it needs keeps failing in a way that waiting
 * may fix (the dead-letter topic refuses its dead letters, or Postgres refuses its rows for a reason
 * that is not about the data: a permission, a limit). Retried with a backoff that grows while it
 * keeps failing, instead of spinning on it: the other partitions go on, and /health says
 * `degraded` with the reason until the partition saves again.
 */
import type { Consumer } from 'kafkajs';
import { backoffMs } from '../retry.ts';
import { partitionKey, type SaverRuntime } from './runtime.ts';

export interface BlockedPartition {
  topic: string;
  partition: number;
  cause: 'dead-letters' | 'postgres';
  /** The LM_ERR_* code of the failure. */
  code: string;
  reason: string;
  since: string;
  attempts: number;
  retryAt: string;
  timer: NodeJS.Timeout | undefined;
}

/** The entry of a partition that failed again (or for the first time), and how long to wait. Pure. */
export function nextBlockedEntry(
  previous: BlockedPartition | undefined,
  failure: Pick<BlockedPartition, 'topic' | 'partition' | 'cause' | 'code' | 'reason'>,
  now: number,
  random: () => number = Math.random,
): { entry: Omit<BlockedPartition, 'timer'>; wait: number } {
  const attempts = (previous?.attempts ?? 0) + 1;
  const wait = backoffMs(attempts - 1, { initialMs: 1_000, maxMs: 60_000, random });
  return {
    entry: {
      ...failure,
      since: previous?.since ?? new Date(now).toISOString(),
      attempts,
      retryAt: new Date(now + wait).toISOString(),
    },
    wait,
  };
}

/** Pauses the partition and schedules its retry (see the module's comment). */
export function block(
  rt: SaverRuntime,
  topic: string,
  partition: number,
  cause: BlockedPartition['cause'],
  failure: { code: string; message: string },
): void {
  const key = partitionKey(topic, partition);
  const previous = rt.blocked.get(key);
  clearTimeout(previous?.timer);
  const reason = failure.message;
  const { entry, wait } = nextBlockedEntry(previous, { topic, partition, cause, code: failure.code, reason }, Date.now());
  const { attempts } = entry;
  rt.blocked.set(key, { ...entry, timer: setTimeout(() => retryBlocked(rt, key), wait) });
  countBlocked(rt);
  rt.consumer?.pause([{ topic, partitions: [partition] }]);
  rt.metrics.retries.inc({ cause: cause === 'postgres' ? 'other' : 'dead-letters' });
  const what =
    cause === 'postgres'
      ? "PostgreSQL keeps refusing this partition's batch"
      : "the dead-letter topic refuses this partition's dead letters";
  rt.logger.error(
    { topic, partition, code: failure.code, error: reason, attempts, retryInMs: wait },
    `${what}: partition paused, retried later (nothing is lost, nothing is committed)`,
  );
}

/** The backoff of a blocked partition is over: resume it; it stays listed until it saves again. */
function retryBlocked(rt: SaverRuntime, key: string): void {
  const entry = rt.blocked.get(key);
  if (!entry || rt.stopping) return;
  // Every partition is paused while Postgres is down; the probe resumes them all when it is back.
  if (rt.probing) {
    entry.timer = setTimeout(() => retryBlocked(rt, key), 1_000);
    return;
  }
  entry.timer = undefined;
  rt.logger.info({ topic: entry.topic, partition: entry.partition, cause: entry.cause }, 'retrying a paused partition');
  rt.consumer?.resume([{ topic: entry.topic, partitions: [entry.partition] }]);
  const queue = rt.queues.get(key);
  queue?.resume?.();
  if (queue) queue.resume = null;
}

/** A partition saved again: no longer blocked. */
export function unblock(rt: SaverRuntime, topic: string, partition: number): void {
  const key = partitionKey(topic, partition);
  const entry = rt.blocked.get(key);
  if (!entry) return;
  clearTimeout(entry.timer);
  rt.blocked.delete(key);
  countBlocked(rt);
  rt.logger.info({ topic, partition, cause: entry.cause, since: entry.since }, 'a paused partition saves again');
}

/** After a (re)join: blocked partitions still ours stay paused on the consumer; the others are not ours to retry. */
export function keepBlockedPaused(rt: SaverRuntime, consumer: Consumer): void {
  for (const [key, entry] of rt.blocked) {
    if (!(rt.assignment[entry.topic] ?? []).includes(entry.partition)) {
      clearTimeout(entry.timer);
      rt.blocked.delete(key);
    } else if (entry.timer) {
      consumer.pause([{ topic: entry.topic, partitions: [entry.partition] }]);
    }
  }
  countBlocked(rt);
}

/** Stops every retry timer (the savers are stopping). */
export function clearBlockedTimers(rt: SaverRuntime): void {
  for (const blocked of rt.blocked.values()) clearTimeout(blocked.timer);
}

function countBlocked(rt: SaverRuntime): void {
  const entries = [...rt.blocked.values()];
  for (const cause of ['postgres', 'dead-letters'] as const) {
    rt.metrics.blockedPartitions.set({ cause }, entries.filter((e) => e.cause === cause).length);
  }
}
