/**
 * Looking into the dead letters (`lambdamart dlq list|show`): grouped by source topic and reason,
 * with counts and the newest example, so an operator sees at a glance what broke and since when.
 */
import type { Pool } from '@lambdamart/core';
import { loadSaverSql } from '../saver-sql.ts';

export interface DeadLetterFilter {
  /** Source topic, exactly. */
  topic?: string;
  /** Part of the reason, case-insensitive. */
  reason?: string;
  /** Only dead letters saved in the last `sinceSeconds`. */
  sinceSeconds?: number;
  /** Only these ids. */
  ids?: readonly number[];
}

export interface DeadLetterGroup {
  source_topic: string;
  reason: string;
  count: number;
  /** Not replayed yet. */
  pending: number;
  first_at: Date;
  last_at: Date;
  newest_id: number;
  newest_payload: string | null;
}

export interface DeadLetter {
  dead_letter_id: number;
  source_topic: string;
  source_partition: number;
  source_offset: number;
  message_key: string | null;
  reason: string;
  payload: string | null;
  ingested_at: Date;
  replayed_at: Date | null;
  replay_count: number;
}

/** The filter as a where clause over dead_letters with numbered parameters from `values`. */
export function whereOf(filter: DeadLetterFilter, values: unknown[] = []): { where: string; values: unknown[] } {
  const terms: string[] = [];
  if (filter.topic !== undefined) {
    values.push(filter.topic);
    terms.push(`source_topic = $${values.length}`);
  }
  if (filter.reason !== undefined) {
    // The text is matched literally: % and _ in it are not wildcards.
    values.push(`%${filter.reason.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    terms.push(`reason ilike $${values.length}`);
  }
  if (filter.sinceSeconds !== undefined) {
    values.push(filter.sinceSeconds);
    terms.push(`ingested_at > now() - make_interval(secs => $${values.length})`);
  }
  if (filter.ids !== undefined) {
    values.push(filter.ids);
    terms.push(`dead_letter_id = any($${values.length}::bigint[])`);
  }
  return { where: terms.length ? `where ${terms.join(' and ')}` : '', values };
}

/** Dead letters grouped by source topic and reason, the largest group first. */
export async function listDeadLetters(pool: Pool, filter: DeadLetterFilter = {}, limit = 100): Promise<DeadLetterGroup[]> {
  const { where, values } = whereOf(filter);
  values.push(limit);
  const { rows } = await pool.query<DeadLetterGroup>(
    `with matching as (select * from dead_letters ${where}),
     groups as (
       select source_topic, reason, count(*)::int as count, count(*) filter (where replayed_at is null)::int as pending,
              min(ingested_at) as first_at, max(ingested_at) as last_at, max(dead_letter_id) as newest_id
       from matching group by source_topic, reason
     )
     select g.source_topic, g.reason, g.count, g.pending, g.first_at, g.last_at, g.newest_id::int as newest_id,
            left(d.payload, 200) as newest_payload
     from groups g join dead_letters d on d.dead_letter_id = g.newest_id
     order by g.count desc, g.last_at desc
     limit $${values.length}`,
    values,
  );
  return rows;
}

/** One dead letter, whole; undefined when there is none with that id. */
export async function showDeadLetter(pool: Pool, id: number): Promise<DeadLetter | undefined> {
  const { rows } = await pool.query<DeadLetter>((await loadSaverSql()).show_dead_letter, [id]);
  return rows[0];
}
