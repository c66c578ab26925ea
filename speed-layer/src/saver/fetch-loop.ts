/**
 * The fetch loop: each partition batch kafkajs fetches is checked against the position Postgres
 * holds, run through the pipeline steps, its dead letters sent, and its staging rows queued for the
 * partition's writer. kafkajs fetches again as soon as eachBatch returns, so fetching and
 * validating overlap with Postgres writing.
 */
import { partitionBounds, withAdmin } from '@lambdamart/core';
import type { Batch, EachBatchPayload } from 'kafkajs';
import { prepareBatch, stagingRows } from '../batch.ts';
import { firstBatchAction, nextOffsetAfter, storedBeyondLog, unsaved } from '../positions.ts';
import { backoffMs, describeError, sleep } from '../retry.ts';
import { readStoredOffset, readStoredOffsets, restartStoredOffset } from '../store.ts';
import { enqueue, type Work, writersIdle } from './partition-queues.ts';
import { withPostgres } from './postgres-outage.ts';
import { saveCarefully } from './refused-batches.ts';
import { partitionKey, type SaverRuntime } from './runtime.ts';
import { sendDeadLetters } from './send-dead-letters.ts';

/**
 * One fetched partition batch: checked against the stored position, validated, turned into
 * staging rows and queued for the partition's writer. A queue that grows past its bound pauses
 * its partition until the writer catches up.
 */
export async function eachBatch(rt: SaverRuntime, payload: EachBatchPayload): Promise<void> {
  const { batch } = payload;
  // Waited before anything is read: a batch fetched before a rebalance is then found stale below.
  if (rt.rateCap) await rt.rateCap(batch.messages.length, rt.abort.signal);
  // A batch saved while positionAll is under way could commit after positionAll read the stored
  // offsets: its seek would then go back before that save, and the save's dead letters would be
  // sent twice. So batches wait; one still waiting after a second is fetched again later.
  const positioning = rt.positioning;
  if (positioning) {
    await Promise.race([positioning, sleep(POSITIONING_WAIT_MS, rt.abort.signal)]);
    if (rt.positioning !== null) return;
  }
  const key = partitionKey(batch.topic, batch.partition);
  const generation = rt.generation;
  // Read in the same tick as isStale(): a position set by a seek (positionAll) is only trusted
  // once that seek has landed, i.e. for batches fetched from the sought offset on.
  let position = rt.positions.get(key);
  if (rt.stopping || !payload.isRunning() || payload.isStale()) return;
  const kind = rt.kindOf.get(batch.topic);
  if (!kind) return;
  if (!position) {
    const stored = await withPostgres(
      rt,
      payload,
      (client) => readStoredOffset(client, rt.sql, rt.group, batch.topic, batch.partition),
      batch,
    );
    if (stored === undefined || generation !== rt.generation || payload.isStale()) return;
    position = { stored, queued: stored, hinted: true, careful: false };
    rt.positions.set(key, position);
    // A stored offset past the end of this log belongs to a log that is gone (handled below): a
    // seek to it would only make kafkajs log an out-of-range error and reset, so start from 0.
    const first = firstBatchAction(storedBeyondLog(stored, batch.highWatermark) ? null : stored, fetchedOffset(batch));
    if (first.action === 'seek') {
      rt.logger.info(
        { topic: batch.topic, partition: batch.partition, offset: first.offset },
        'seeking to the offset stored in PostgreSQL',
      );
      rt.consumer?.seek({ topic: batch.topic, partition: batch.partition, offset: first.offset });
      return;
    }
  }
  if (storedBeyondLog(position.queued, batch.highWatermark)) {
    // Without this, every message of the new log would look already saved and be skipped for good.
    const from = position.queued as string;
    const to = fetchedOffset(batch);
    warnPastTheEnd(rt, {
      topic: batch.topic,
      partition: batch.partition,
      storedOffset: from,
      highWatermark: batch.highWatermark,
      restartAt: to,
    });
    const restarted = await withPostgres(
      rt,
      payload,
      (client) =>
        restartStoredOffset(client, rt.sql, { group: rt.group, topic: batch.topic, partition: batch.partition }, from, to).then(() => true),
      batch,
    );
    if (restarted === undefined || rt.positions.get(key) !== position) return;
    position = { stored: to, queued: to, hinted: true, careful: false };
    rt.positions.set(key, position);
  }
  const nextOffset = nextOffsetAfter(batch.lastOffset(), position.queued);
  if (nextOffset === null) {
    payload.resolveOffset(batch.lastOffset());
    return;
  }
  const prepared = prepareBatch(kind, unsaved(batch.messages, position.queued));
  if (!(await sendDeadLetters(rt, payload, prepared))) return;
  if (rt.stopping || rt.positions.get(key) !== position) return;
  if (position.careful) {
    await saveCarefully(rt, payload, kind, position, nextOffset, prepared);
    return;
  }
  const work: Work = {
    expected: position.queued,
    next: nextOffset,
    staged: stagingRows(
      kind,
      prepared.valid.map((v) => v.event),
    ),
    deadLetters: prepared.deadLetters.map(({ raw, rawKey, ...row }) => row),
    messages: prepared.valid.length + prepared.deadLetters.length,
    highWatermark: batch.highWatermark,
  };
  position.queued = nextOffset;
  payload.resolveOffset(batch.lastOffset());
  enqueue(rt, key, kind, batch, work, payload);
}

/** How long a fetched batch waits for positionAll before it is left to be fetched again (within the session timeout). */
const POSITIONING_WAIT_MS = 1_000;

/** Runs positionAll for the current generation; rt.positioning is set until it is done. */
export function startPositioning(rt: SaverRuntime): void {
  const positioning: Promise<void> = positionAll(rt, rt.generation).finally(() => {
    if (rt.positioning === positioning) rt.positioning = null;
  });
  rt.positioning = positioning;
}

/**
 * Seeks every assigned partition to the offset stored in PostgreSQL. Needed on every assignment:
 * kafkajs would otherwise resume from the group's Kafka offset, and a partition with nothing new
 * after that offset never produces a batch that could be checked (see eachBatch for the batches
 * fetched before this seek lands).
 */
async function positionAll(rt: SaverRuntime, generation: number): Promise<void> {
  // Saves in flight finish first, so that the offsets read below include them.
  await writersIdle(rt);
  for (let attempt = 0; !rt.stopping && generation === rt.generation; attempt++) {
    try {
      const stored = await readStoredOffsets(rt.pool, rt.sql, rt.group);
      const logs = await logBounds(rt, Object.keys(rt.assignment));
      if (generation !== rt.generation || !rt.consumer) return;
      for (const [topic, partitions] of Object.entries(rt.assignment)) {
        for (const partition of partitions) {
          const key = partitionKey(topic, partition);
          let offset = stored.get(key) ?? null;
          // An offset past the end of the log is from a log that is gone. Decided now, while the new
          // log is still shorter than the old one: once it has grown past the old offset, its first
          // messages would look saved. (A seek to such an offset would also make kafkajs log an error.)
          const log = logs?.get(key);
          if (offset !== null && log !== undefined && storedBeyondLog(offset, log.high)) {
            warnPastTheEnd(rt, { topic, partition, storedOffset: offset, highWatermark: log.high, restartAt: log.low });
            await restartStoredOffset(rt.pool, rt.sql, { group: rt.group, topic, partition }, offset, log.low);
            offset = log.low;
          }
          if (generation !== rt.generation || !rt.consumer) return;
          rt.positions.set(key, { stored: offset, queued: offset, hinted: true, careful: false });
          rt.consumer.seek({ topic, partition, offset: offset ?? '0' });
        }
      }
      rt.logger.info('assigned partitions seek to the offsets stored in PostgreSQL');
      return;
    } catch (error) {
      const wait = backoffMs(attempt);
      rt.logger.warn({ error: describeError(error), retryInMs: wait }, 'reading the stored offsets failed; retrying');
      await sleep(wait, rt.abort.signal);
    }
  }
}

function warnPastTheEnd(
  rt: SaverRuntime,
  where: { topic: string; partition: number; storedOffset: string; highWatermark: string; restartAt: string },
): void {
  rt.logger.warn(
    where,
    'the offset stored in PostgreSQL is past the end of the partition (topic recreated or Kafka data wiped): reading the new log from its start',
  );
}

/** Each partition's first and next offsets (`topic|partition`), or null when Kafka does not answer. */
async function logBounds(rt: SaverRuntime, topics: readonly string[]): Promise<Map<string, { low: string; high: string }> | null> {
  try {
    const bounds = await withAdmin(rt.kafka, (admin) => partitionBounds(admin, topics));
    return new Map(bounds.map((p) => [partitionKey(p.topic, p.partition), p]));
  } catch (error) {
    rt.logger.debug({ error: describeError(error) }, "the partitions' first and last offsets could not be read");
    return null;
  }
}

/** The offset kafkajs fetched this batch from (not in its typings, but part of every Batch). */
function fetchedOffset(batch: Batch): string {
  return String((batch as Batch & { fetchedOffset?: string }).fetchedOffset ?? batch.firstOffset() ?? '0');
}
