/**
 * Replaying dead letters after a fix (`lambdamart dlq replay`): each original payload goes back to
 * its source topic with its key, so it takes the savers' path again: validated, saved once by its
 * event id (a replay that runs twice, or a row sent again with --ids, adds nothing), or
 * dead-lettered again with a new reason if it is still bad.
 *
 * Rows are taken in chunks, each locked (FOR UPDATE SKIP LOCKED: two replays at once split the
 * work instead of sending a row twice), sent, and marked replayed only after Kafka acknowledged
 * them, in the same transaction: a crash in between leaves them unmarked, and the next replay
 * sends them again, which the savers' idempotent writes make harmless.
 */
import { DeadLetterHeaders, type EventProducer, type OutgoingMessage, type Pool } from '@lambdamart/core';
import { splitBySize } from '../dead-letters.ts';
import { loadSaverSql } from '../saver-sql.ts';
import { type DeadLetterFilter, whereOf } from './inspect.ts';

/** Header a replayed message carries: the dead letter it came from. */
export const ReplayOfHeader = 'lm-replay-of';

export interface ReplayOptions {
  /** Count what would be sent, send nothing. */
  dryRun?: boolean;
  /** Send rows already replayed too (only with explicit ids, where the user names what to send). */
  again?: boolean;
  /** Rows per transaction (and at most `maxBytes` of payload per produce request). */
  chunk?: number;
  maxBytes?: number;
  onProgress?: (sent: number) => void;
}

export interface ReplayReport {
  /** Sent (or, in a dry run, to be sent) per source topic. */
  byTopic: Record<string, number>;
  sent: number;
  /** Matching rows that cannot be replayed: no payload kept. */
  withoutPayload: number;
  /** Matching rows skipped because they were replayed before. */
  alreadyReplayed: number;
  dryRun: boolean;
}

interface Row {
  dead_letter_id: string;
  source_topic: string;
  message_key: string | null;
  payload: string;
}

/** A message's payload bytes (key and value): what `maxBytes` bounds per produce request. */
const payloadBytes = (message: OutgoingMessage) => Buffer.byteLength(message.value) + Buffer.byteLength(message.key ?? '');

async function countMatching(pool: Pool, filter: DeadLetterFilter, again: boolean) {
  const { where, values } = whereOf(filter);
  const { rows } = await pool.query<{ topic: string; n: number; without: number; replayed: number }>(
    `select source_topic as topic,
            count(*) filter (where payload is not null and (replayed_at is null or ${again}))::int as n,
            count(*) filter (where payload is null)::int as without,
            count(*) filter (where payload is not null and replayed_at is not null and not ${again})::int as replayed
     from dead_letters ${where} group by source_topic order by source_topic`,
    values,
  );
  return rows;
}

export async function replayDeadLetters(
  pool: Pool,
  producer: EventProducer,
  filter: DeadLetterFilter,
  options: ReplayOptions = {},
): Promise<ReplayReport> {
  const again = Boolean(options.again && filter.ids);
  const chunk = options.chunk ?? 500;
  const maxBytes = options.maxBytes ?? 512 * 1024;
  const sql = await loadSaverSql();
  const counts = await countMatching(pool, filter, again);
  const report: ReplayReport = {
    byTopic: {},
    sent: 0,
    withoutPayload: counts.reduce((n, c) => n + c.without, 0),
    alreadyReplayed: counts.reduce((n, c) => n + c.replayed, 0),
    dryRun: Boolean(options.dryRun),
  };
  if (options.dryRun) {
    for (const c of counts) if (c.n > 0) report.byTopic[c.topic] = c.n;
    report.sent = counts.reduce((n, c) => n + c.n, 0);
    return report;
  }

  let after = 0;
  for (;;) {
    const client = await pool.connect();
    try {
      await client.query('begin');
      const { where, values } = whereOf(filter);
      values.push(after, chunk);
      // The id goes out as text (pg would give a bigint as a number or a string); it is ordered as a number.
      const { rows } = await client.query<Row>(
        `select dead_letter_id::text as dead_letter_id, source_topic, message_key, payload from dead_letters
         ${where ? `${where} and` : 'where'} payload is not null and (replayed_at is null or ${again})
           and dead_letters.dead_letter_id > $${values.length - 1}
         order by dead_letters.dead_letter_id limit $${values.length}
         for update skip locked`,
        values,
      );
      if (rows.length === 0) {
        await client.query('commit');
        return report;
      }
      const byTopic = new Map<string, OutgoingMessage[]>();
      for (const row of rows) {
        const messages = byTopic.get(row.source_topic) ?? [];
        messages.push({
          key: row.message_key,
          value: row.payload,
          headers: { [ReplayOfHeader]: row.dead_letter_id, [DeadLetterHeaders.sourceTopic]: row.source_topic },
        });
        byTopic.set(row.source_topic, messages);
      }
      for (const [topic, messages] of byTopic) {
        for (const request of splitBySize(messages, payloadBytes, maxBytes)) await producer.send(topic, request);
        report.byTopic[topic] = (report.byTopic[topic] ?? 0) + messages.length;
      }
      await client.query(sql.mark_dead_letters_replayed, [rows.map((r) => r.dead_letter_id)]);
      await client.query('commit');
      report.sent += rows.length;
      after = Number(rows.at(-1)?.dead_letter_id ?? after);
      options.onProgress?.(report.sent);
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
