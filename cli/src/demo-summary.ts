/**
 * The demo's closing account of the realtime layer: every event the generator had acknowledged by
 * Kafka is either saved, dead-lettered, or a duplicate of one saved (the same id sent again, saved
 * once). The counts are taken before the generator starts and after the savers have read every
 * topic to its end, so the difference between them is this run's alone.
 */
import { type Config, createKafka, type Pool, Topics } from '@lambdamart/core';
import type { GeneratorSummary } from '@lambdamart/generators';
import { formatTable } from './table.ts';

export interface RealtimeCounts {
  /** Transactions, product views and cart events saved. */
  saved: number;
  deadLetters: number;
}

export async function countRealtime(realtime: Pool): Promise<RealtimeCounts> {
  const { rows } = await realtime.query<RealtimeCounts>(
    `select ((select count(*) from transactions) + (select count(*) from product_view_events)
             + (select count(*) from cart_events))::int as saved,
            (select count(*) from dead_letters)::int as "deadLetters"`,
  );
  return rows[0] ?? { saved: 0, deadLetters: 0 };
}

/** Messages in the savers' topics that `group` has not committed yet (Kafka's end offsets against consumer_offsets). */
export async function saverLag(config: Config, realtime: Pool, group: string): Promise<number> {
  const topics = [Topics.transactions.name, Topics.productViews.name, Topics.cartEvents.name, Topics.productCatalog.name];
  const admin = createKafka({ ...config.kafka, clientId: 'lambdamart-demo' }).admin();
  await admin.connect();
  try {
    const { rows } = await realtime.query<{ topic: string; partition: number; next_offset: string }>(
      'select topic, partition, next_offset from consumer_offsets where group_id = $1 and topic = any($2::text[])',
      [group, topics],
    );
    const committed = new Map(rows.map((r) => [`${r.topic}/${r.partition}`, Number(r.next_offset)]));
    let lag = 0;
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) {
        lag += Math.max(0, Number(p.high) - (committed.get(`${topic}/${p.partition}`) ?? Number(p.low)));
      }
    }
    return lag;
  } finally {
    await admin.disconnect();
  }
}

export interface Reconciliation {
  table: string;
  /** Events neither saved, dead-lettered nor duplicates: 0 when nothing was lost or counted twice. */
  difference: number;
}

/** Generated = saved + dead letters + duplicates, for this run (counts after minus before). */
export function reconcile(summary: GeneratorSummary, before: RealtimeCounts, after: RealtimeCounts): Reconciliation {
  const events = summary.sent - summary.byKind.catalog;
  const saved = after.saved - before.saved;
  const deadLetters = after.deadLetters - before.deadLetters;
  const duplicates = summary.unusual.duplicate_id;
  const difference = events - saved - deadLetters - duplicates;
  const n = (value: number) => value.toLocaleString('en');
  const table = formatTable(
    ['', 'events', 'expected'],
    [
      ['generated (acknowledged by Kafka, catalog records apart)', n(events), ''],
      ['saved in the realtime database', n(saved), n(events - summary.invalidTotal - duplicates)],
      ['dead letters', n(deadLetters), `${n(summary.invalidTotal)} (invalid on purpose)`],
      ['duplicates of a saved event (same id, saved once)', n(duplicates), ''],
      ['difference (generated - saved - dead letters - duplicates)', n(difference), '0'],
    ],
  );
  return { table, difference };
}
