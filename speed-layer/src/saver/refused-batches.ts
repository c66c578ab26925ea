/**
 * A partition whose batch Postgres refused as data (a value the pipeline steps did not foresee):
 * saved batch by batch, without the queue; the events Postgres refuses alone are dead-lettered
 * with its reason, the rest saved; a batch refused only as a whole is dead-lettered as a whole.
 */
import type { EventKind } from '@lambdamart/core';
import type { EachBatchPayload } from 'kafkajs';
import { deadLetterRow, type PreparedBatch, stagingRows } from '../batch.ts';
import { isRefusedAsData } from '../retry.ts';
import { findRefusedEvents, type SaveResult, saveBatch } from '../store.ts';
import { withPostgres } from './postgres-outage.ts';
import { recordSave } from './record-save.ts';
import { type PartitionPosition, partitionKey, type SaverRuntime } from './runtime.ts';
import { sendDeadLetters } from './send-dead-letters.ts';

/** The batch without the events Postgres refused (`refused`: index in `valid` -> reason), those as dead letters. Pure. */
export function setApartRefused(prepared: PreparedBatch, refused: ReadonlyMap<number, string>): PreparedBatch {
  const rest: PreparedBatch = { valid: [], deadLetters: [...prepared.deadLetters] };
  for (const [i, item] of prepared.valid.entries()) {
    const reason = refused.get(i);
    if (reason === undefined) rest.valid.push(item);
    else rest.deadLetters.push(deadLetterRow(item.message, reason));
  }
  return rest;
}

/** Every event of the batch as a dead letter: Postgres refused them only together. Pure. */
export function refusedAsAWhole(prepared: PreparedBatch, reason: string): PreparedBatch {
  return {
    valid: [],
    deadLetters: [
      ...prepared.deadLetters,
      ...prepared.valid.map((v) => deadLetterRow(v.message, `refused by PostgreSQL with its batch: ${reason}`)),
    ],
  };
}

/** Saves one fetched batch on its own; the partition leaves the careful mode once it saved. */
export async function saveCarefully(
  rt: SaverRuntime,
  payload: EachBatchPayload,
  kind: EventKind,
  position: PartitionPosition,
  nextOffset: string,
  prepared: PreparedBatch,
): Promise<void> {
  const { batch } = payload;
  const started = process.hrtime.bigint();
  const result = await save(rt, payload, kind, position.queued, nextOffset, prepared);
  if (result?.status !== 'saved') {
    rt.positions.delete(partitionKey(batch.topic, batch.partition));
    return;
  }
  position.stored = nextOffset;
  position.queued = nextOffset;
  position.hinted = false;
  position.careful = false;
  payload.resolveOffset(batch.lastOffset());
  const work = {
    expected: null,
    next: nextOffset,
    staged: { tables: {}, events: prepared.valid.length },
    deadLetters: prepared.deadLetters,
    messages: prepared.valid.length + prepared.deadLetters.length,
    highWatermark: batch.highWatermark,
  };
  recordSave(rt, batch.topic, batch.partition, work, result, Number(process.hrtime.bigint() - started) / 1e9);
}

/** Saves the batch; a batch refused as data is split, the refused events dead-lettered, the rest saved. */
async function save(
  rt: SaverRuntime,
  payload: EachBatchPayload,
  kind: EventKind,
  expectedOffset: string | null,
  nextOffset: string,
  prepared: PreparedBatch,
): Promise<SaveResult | undefined> {
  const { batch } = payload;
  const write = (p: PreparedBatch) =>
    withPostgres(
      rt,
      payload,
      (client) =>
        saveBatch(client, rt.sql, {
          group: rt.group,
          topic: batch.topic,
          partition: batch.partition,
          kind,
          expectedOffset,
          nextOffset,
          staged: stagingRows(
            kind,
            p.valid.map((v) => v.event),
          ),
          deadLetters: p.deadLetters,
        }),
      batch,
    );
  try {
    return await write(prepared);
  } catch (error) {
    if (!isRefusedAsData(error)) throw error;
    rt.logger.warn(
      { topic: batch.topic, partition: batch.partition, code: error.code, error: error.message },
      'PostgreSQL refused a batch; finding the events it refuses',
    );
    const refused = await withPostgres(
      rt,
      payload,
      (client) =>
        findRefusedEvents(
          client,
          rt.sql,
          kind,
          prepared.valid.map((v) => stagingRows(kind, [v.event])),
        ),
      batch,
    );
    if (refused === undefined) return undefined;
    const rest = setApartRefused(prepared, refused);
    const extra = { valid: [], deadLetters: rest.deadLetters.slice(prepared.deadLetters.length) };
    if (!(await sendDeadLetters(rt, payload, extra))) return undefined;
    // The caller's counts follow what was really saved.
    prepared.valid = rest.valid;
    prepared.deadLetters = rest.deadLetters;
    try {
      return await write(rest);
    } catch (again) {
      if (!isRefusedAsData(again)) throw again;
      // Refused only together (no event alone is): set the batch apart rather than stop the partition.
      rt.logger.error(
        { topic: batch.topic, partition: batch.partition, code: again.code, error: again.message },
        'PostgreSQL refused the batch as a whole; dead-lettering it',
      );
      const whole = refusedAsAWhole(rest, again.message);
      if (!(await sendDeadLetters(rt, payload, { deadLetters: whole.deadLetters.slice(rest.deadLetters.length) }))) return undefined;
      prepared.valid = [];
      prepared.deadLetters = whole.deadLetters;
      return write(whole);
    }
  }
}
