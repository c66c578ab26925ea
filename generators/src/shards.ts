/**
 * Virtual shards: what makes the generator deterministic whatever the number of worker threads.
 * The customers are split into a fixed number of shards (by user index); each shard runs its own
 * stream of sessions with random streams seeded by (seed, start, shard), and owns the catalog
 * records of its products (by product index). Workers take whole shards, so a key's events all
 * come from one shard, in order; merging the shards by event time (ties by shard) gives one order
 * that is the same for 1 or N workers.
 */
import { LambdamartError } from '@lambdamart/core';
import type { GeneratedEvent } from './generated-event.ts';

/** Fixed: changing it changes the events of every seed. Also the most workers a run can use. */
export const Shards = 16;

/** A 32-bit seed from several parts, each mixed in (murmur3's finaliser), so that no two part lists share a stream by accident. */
export function streamSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** Shard of the i-th customer or product. */
export const shardOf = (index: number): number => index % Shards;

/**
 * Splits `total` over the shards in proportion to their weights, by largest remainder: whole
 * numbers that sum to `total` exactly, the same on every thread.
 */
export function apportion(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (total * w) / sum);
  const parts = exact.map(Math.floor);
  let left = total - parts.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left <= 0) break;
    parts[i] = (parts[i] as number) + 1;
    left--;
  }
  return parts;
}

/** Which shards each of `workers` workers runs: round robin, so each gets a fair share. */
export function shardsOfWorker(worker: number, workers: number): number[] {
  if (!Number.isInteger(workers) || workers < 1 || workers > Shards)
    throw new LambdamartError('LM_ERR_GENERATOR_OPTION_INVALID', `workers must be a whole number from 1 to ${Shards} (got ${workers})`);
  const shards: number[] = [];
  for (let shard = worker; shard < Shards; shard += workers) shards.push(shard);
  return shards;
}

/** An event with the shard that made it: the merge's tie-break. */
export interface ShardEvent {
  event: GeneratedEvent;
  shard: number;
}

/**
 * Merges streams (each in the order its shard made it) into one: at each step the head with the
 * earliest time, ties to the lower shard. Merging merged streams gives the same order as merging
 * the shards at once, which is what lets a worker merge its shards and the main thread the workers.
 */
export function* mergeByTime(streams: Iterable<ShardEvent>[]): Generator<ShardEvent> {
  const iterators = streams.map((s) => s[Symbol.iterator]());
  const heads: (ShardEvent | undefined)[] = iterators.map((it) => {
    const next = it.next();
    return next.done ? undefined : next.value;
  });
  try {
    for (;;) {
      let best = -1;
      let bestHead: ShardEvent | undefined;
      for (let i = 0; i < heads.length; i++) {
        const head = heads[i];
        if (head === undefined) continue;
        if (
          bestHead === undefined ||
          head.event.time < bestHead.event.time ||
          (head.event.time === bestHead.event.time && head.shard < bestHead.shard)
        ) {
          best = i;
          bestHead = head;
        }
      }
      if (bestHead === undefined) return;
      yield bestHead;
      const next = (iterators[best] as Iterator<ShardEvent>).next();
      heads[best] = next.done ? undefined : next.value;
    }
  } finally {
    for (const it of iterators) it.return?.();
  }
}
