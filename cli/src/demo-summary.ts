/**
 * The demo's closing account of the realtime layer: every event the generator had acknowledged by
 * Kafka is either saved, dead-lettered, or a duplicate of one saved (the same id sent again, saved
 * once). The counts are taken before the generator starts and after the savers have read every
 * topic to its end, so the difference between them is this run's alone.
 */
import { type Config, createKafka, type Pool, partitionBounds, Topics, withAdmin } from '@lambdamart/core';
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

/** The topics the demo's savers read. */
const demoTopics = [Topics.transactions.name, Topics.productViews.name, Topics.cartEvents.name, Topics.productCatalog.name];

/**
 * Messages in the savers' topics (default: the demo's) that `group` has not committed yet (Kafka's
 * end offsets against consumer_offsets).
 */
export async function saverLag(config: Config, realtime: Pool, group: string, topics: readonly string[] = demoTopics): Promise<number> {
  const kafka = createKafka({ ...config.kafka, clientId: 'lambdamart-demo' });
  return withAdmin(kafka, async (admin) => {
    const { rows } = await realtime.query<{ topic: string; partition: number; next_offset: string }>(
      'select topic, partition, next_offset from consumer_offsets where group_id = $1 and topic = any($2::text[])',
      [group, [...topics]],
    );
    const committed = new Map(rows.map((r) => [`${r.topic}/${r.partition}`, Number(r.next_offset)]));
    let lag = 0;
    for (const p of await partitionBounds(admin, topics)) {
      lag += Math.max(0, Number(p.high) - (committed.get(`${p.topic}/${p.partition}`) ?? Number(p.low)));
    }
    return lag;
  });
}

/** The warehouse side of the account: fact rows (a transaction counted once) and revenue in fact_sales, in cents. */
export interface WarehouseCounts {
  facts: number;
  revenueCents: number;
}

export async function countWarehouse(warehouse: Pool): Promise<WarehouseCounts> {
  const { rows } = await warehouse.query<{ facts: string; revenue_cents: string }>(
    `select (select count(distinct transaction_id) from fact_sales) + (select count(*) from fact_product_views)
          + (select count(*) from fact_cart_events) as facts,
            (select coalesce(round(sum(total_amount) * 100), 0) from fact_sales) as revenue_cents`,
  );
  return { facts: Number(rows[0]?.facts ?? 0), revenueCents: Number(rows[0]?.revenue_cents ?? 0) };
}

export interface Reconciliation {
  table: string;
  /** Events neither saved, dead-lettered nor duplicates: 0 when nothing was lost or counted twice. */
  difference: number;
  /** The lines that do not add up, in words; empty when everything does. */
  mismatches: string[];
}

/**
 * Generated = saved + dead letters + duplicates, for this run (counts after minus before); with
 * the warehouse's counts before the run and after the last batch run: saved = facts, and revenue
 * generated = revenue in fact_sales to the cent.
 */
export function reconcile(
  summary: GeneratorSummary,
  before: RealtimeCounts,
  after: RealtimeCounts,
  warehouse?: { before: WarehouseCounts; after: WarehouseCounts },
): Reconciliation {
  const events = summary.sent - summary.byKind.catalog;
  const saved = after.saved - before.saved;
  const deadLetters = after.deadLetters - before.deadLetters;
  const duplicates = summary.unusual.duplicate_id;
  const difference = events - saved - deadLetters - duplicates;
  const n = (value: number) => value.toLocaleString('en');
  const money = (cents: number) => (cents / 100).toLocaleString('en', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const mismatches: string[] = [];
  if (difference !== 0) mismatches.push(`${n(difference)} events are neither saved, dead-lettered nor duplicates`);
  const rows = [
    ['generated (acknowledged by Kafka, catalog records apart)', n(events), ''],
    ['saved in the realtime database', n(saved), n(events - summary.invalidTotal - duplicates)],
    ['dead letters', n(deadLetters), `${n(summary.invalidTotal)} (invalid on purpose)`],
    ['duplicates of a saved event (same id, saved once)', n(duplicates), ''],
    ['difference (generated - saved - dead letters - duplicates)', n(difference), '0'],
  ];
  if (warehouse) {
    const facts = warehouse.after.facts - warehouse.before.facts;
    const revenue = warehouse.after.revenueCents - warehouse.before.revenueCents;
    rows.push(['facts in the warehouse after the last batch run', n(facts), `${n(saved)} (= saved)`]);
    rows.push(['revenue generated (valid transactions)', money(summary.revenueCents), '']);
    rows.push(['revenue in fact_sales after the last batch run', money(revenue), `${money(summary.revenueCents)} (= generated)`]);
    if (facts !== saved) mismatches.push(`the warehouse holds ${n(facts)} facts of this run, the realtime database ${n(saved)} events`);
    if (revenue !== summary.revenueCents) {
      mismatches.push(
        `revenue in fact_sales ${money(revenue)} differs from revenue generated ${money(summary.revenueCents)} by ${money(revenue - summary.revenueCents)}`,
      );
    }
  }
  return { table: formatTable(['', 'events', 'expected'], rows), difference, mismatches };
}
