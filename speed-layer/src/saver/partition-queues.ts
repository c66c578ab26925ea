/**
 * The partition queues: what the fetch loop prepared waits here for the partition's writer, which
 * saves it in order, merging what queued up into one transaction. The queues are bounded: a queue
 * that grows past the bound pauses its partition until the writer catches up.
 */
import type { EventKind } from '@lambdamart/core';
import type { Batch, EachBatchPayload } from 'kafkajs';
import { describeError, isRefusedAsData } from '../retry.ts';
import type { StagingCopy } from '../rows.ts';
import { type DeadLetterRow, readStoredOffset, type SaveResult, saveBatch } from '../store.ts';
import { withPostgres } from './postgres-outage.ts';
import { recordSave } from './record-save.ts';
import type { SaverRuntime } from './runtime.ts';

/** Staging rows of one or more fetched batches of a partition, waiting for the writer. */
export interface Work {
  expected: string | null;
  next: string;
  staged: StagingCopy;
  deadLetters: DeadLetterRow[];
  messages: number;
  highWatermark: string;
}

export interface PartitionQueue {
  works: Work[];
  messages: number;
  writing: Promise<void> | null;
  /** Set while the partition is paused because its queue is full. */
  resume: (() => void) | null;
}

/**
 * Bounds the memory of the queues (COPY text, about 200 bytes an event) over all partitions, and
 * the size of one transaction.
 */
const MAX_QUEUED_MESSAGES = 30_000;
const MAX_MERGED_MESSAGES = 15_000;

/** Queued works saved as one: the first's expected offset, the last's next, everything between. Pure. */
export function mergeWorks(works: readonly Work[]): Work & { expectedOffset: string | null; nextOffset: string } {
  const first = works[0] as Work;
  const last = works[works.length - 1] as Work;
  const tables: Record<string, string> = {};
  for (const work of works) {
    for (const [table, text] of Object.entries(work.staged.tables)) tables[table] = (tables[table] ?? '') + text;
  }
  return {
    expected: first.expected,
    next: last.next,
    expectedOffset: first.expected,
    nextOffset: last.next,
    staged: { tables, events: works.reduce((n, w) => n + w.staged.events, 0) },
    deadLetters: works.flatMap((w) => w.deadLetters),
    messages: works.reduce((n, w) => n + w.messages, 0),
    highWatermark: last.highWatermark,
  };
}

/** Takes from the head of the queue the works one transaction saves: at least one, then up to `max` messages. */
export function takeMergeable(works: Work[], max = MAX_MERGED_MESSAGES): { take: Work[]; messages: number } {
  const take: Work[] = [];
  let messages = 0;
  while (works.length > 0 && (take.length === 0 || messages + (works[0]?.messages ?? 0) <= max)) {
    const work = works.shift() as Work;
    take.push(work);
    messages += work.messages;
  }
  return { take, messages };
}

export function enqueue(rt: SaverRuntime, key: string, kind: EventKind, batch: Batch, work: Work, payload: EachBatchPayload): void {
  let queue = rt.queues.get(key);
  if (!queue) {
    queue = { works: [], messages: 0, writing: null, resume: null };
    rt.queues.set(key, queue);
  }
  queue.works.push(work);
  queue.messages += work.messages;
  rt.queuedMessages += work.messages;
  if (rt.queuedMessages >= MAX_QUEUED_MESSAGES && !queue.resume) {
    queue.resume = payload.pause();
    rt.logger.debug({ topic: batch.topic, partition: batch.partition, queued: queue.messages }, 'PostgreSQL is behind: partition paused');
  }
  startWriter(rt, key, kind, batch.topic, batch.partition, queue);
}

function startWriter(rt: SaverRuntime, key: string, kind: EventKind, topic: string, partition: number, queue: PartitionQueue): void {
  if (queue.writing) return;
  queue.writing = writeQueue(rt, key, kind, topic, partition, queue)
    .catch((error) => {
      // Unexpected: forget the queue and re-read the stored offset rather than stop the process.
      rt.logger.error({ topic, partition, error: describeError(error) }, 'the partition writer failed');
      clearQueue(rt, queue);
      rt.positions.delete(key);
    })
    .finally(() => {
      queue.writing = null;
      // Batches queued while the writer was rewinding still need a writer.
      if (queue.works.length > 0 && !rt.stopping) startWriter(rt, key, kind, topic, partition, queue);
    });
}

/** The partition's writer: saves its queue in order, merging what queued up into one transaction. */
async function writeQueue(rt: SaverRuntime, key: string, kind: EventKind, topic: string, partition: number, queue: PartitionQueue) {
  while (queue.works.length > 0) {
    const { take, messages } = takeMergeable(queue.works);
    queue.messages -= messages;
    rt.queuedMessages -= messages;
    resumeIfRoom(rt);
    const merged = mergeWorks(take);
    const started = process.hrtime.bigint();
    let result: SaveResult | undefined;
    let refused = false;
    try {
      result = await withPostgres(
        rt,
        undefined,
        (client) => saveBatch(client, rt.sql, { group: rt.group, topic, partition, kind, ...merged }),
        { topic, partition },
      );
    } catch (error) {
      if (!isRefusedAsData(error)) throw error;
      refused = true;
      rt.logger.warn(
        { topic, partition, code: error.code, error: error.message },
        'PostgreSQL refused a batch; saving this partition event by event to find why',
      );
    }
    if (result?.status !== 'saved') {
      if (result?.status === 'moved') {
        rt.logger.warn(
          { topic, partition, expected: merged.expected, stored: result.storedOffset },
          'the stored offset moved (another saver or an earlier commit); re-reading it',
        );
      }
      await rewind(rt, key, topic, partition, queue, refused);
      return;
    }
    const position = rt.positions.get(key);
    if (position && position.stored === merged.expected) {
      position.stored = merged.next;
      position.hinted = false;
    }
    recordSave(rt, topic, partition, merged, result, Number(process.hrtime.bigint() - started) / 1e9);
  }
}

/**
 * After a failed or refused save: forget what is queued and go back to the offset Postgres
 * holds. During an outage the probe does this for every partition when Postgres is back.
 */
async function rewind(rt: SaverRuntime, key: string, topic: string, partition: number, queue: PartitionQueue, careful: boolean) {
  clearQueue(rt, queue);
  rt.positions.delete(key);
  if (rt.stopping || rt.probing) return;
  const generation = rt.generation;
  const stored = await withPostgres(rt, undefined, (client) => readStoredOffset(client, rt.sql, rt.group, topic, partition), {
    topic,
    partition,
  });
  if (stored === undefined || generation !== rt.generation || !rt.consumer) return;
  rt.positions.set(key, { stored, queued: stored, hinted: true, careful });
  rt.consumer.seek({ topic, partition, offset: stored ?? '0' });
}

/** Forgets what is queued (it is not committed, so it will be fetched again) and resumes paused partitions. */
export function dropQueues(rt: SaverRuntime): void {
  for (const queue of rt.queues.values()) clearQueue(rt, queue);
}

/** Paused partitions resume together once the queues are half empty. */
function resumeIfRoom(rt: SaverRuntime): void {
  if (rt.queuedMessages >= MAX_QUEUED_MESSAGES / 2) return;
  for (const [key, queue] of rt.queues.entries()) {
    if (rt.blocked.get(key)?.timer) continue;
    queue.resume?.();
    queue.resume = null;
  }
}

function clearQueue(rt: SaverRuntime, queue: PartitionQueue): void {
  rt.queuedMessages -= queue.messages;
  queue.works = [];
  queue.messages = 0;
  resumeIfRoom(rt);
}

/** Resolves once no writer is saving (their failures are theirs to log). */
export async function writersIdle(rt: SaverRuntime): Promise<void> {
  await Promise.all([...rt.queues.values()].map((q) => q.writing?.catch(() => undefined)));
}
