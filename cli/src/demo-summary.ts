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

/** Messages Kafka holds in the savers' topics (default: the demo's), counted from each partition's offset 0: the sum of the next offsets. */
export async function topicEnds(config: Config, topics: readonly string[] = demoTopics): Promise<number> {
  const bounds = await withAdmin(createKafka({ ...config.kafka, clientId: 'lambdamart-demo' }), (admin) => partitionBounds(admin, topics));
  return bounds.reduce((sum, p) => sum + Number(p.high), 0);
}

/** "1 message", "2,000 messages". */
function count(value: number, noun: string): string {
  return `${value.toLocaleString('en')} ${noun}${value === 1 ? '' : 's'}`;
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
  /**
   * Events neither saved, dead-lettered nor duplicates: 0 when nothing was lost or counted twice;
   * below 0 when more were saved than generated (another producer wrote to the topics).
   */
  difference: number;
  /** The lines that do not add up, in words; empty when everything does. */
  mismatches: string[];
}

/**
 * Generated = saved + dead letters + duplicates, for this run (counts after minus before); with
 * the warehouse's counts before the run and after the last batch run: saved = facts, and revenue
 * generated = revenue in fact_sales to the cent. `appended`, the messages Kafka took into the
 * demo's topics during the run, tells the generator's apart from another producer's (kcat, POST
 * /api/v1/events): the account counts the generator's alone, so theirs are named, not hidden.
 */
export function reconcile(
  summary: GeneratorSummary,
  before: RealtimeCounts,
  after: RealtimeCounts,
  warehouse?: { before: WarehouseCounts; after: WarehouseCounts },
  appended?: number,
): Reconciliation {
  const events = summary.sent - summary.byKind.catalog;
  const saved = after.saved - before.saved;
  const deadLetters = after.deadLetters - before.deadLetters;
  const duplicates = summary.unusual.duplicate_id;
  const difference = events - saved - deadLetters - duplicates;
  const n = (value: number) => value.toLocaleString('en');
  const money = (cents: number) => (cents / 100).toLocaleString('en', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const mismatches: string[] = [];
  const foreign = appended === undefined ? 0 : appended - summary.sent;
  if (foreign > 0) {
    mismatches.push(
      `Kafka took ${count(foreign, 'message')} into the topics from another producer during the run (kcat, POST /api/v1/events, a second generator): the account counts this run's generator alone, so it cannot add up`,
    );
  }
  if (difference > 0)
    mismatches.push(`${count(difference, 'event')} ${difference === 1 ? 'is' : 'are'} neither saved, dead-lettered nor a duplicate`);
  if (difference < 0) mismatches.push(`${count(-difference, 'more event')} saved or dead-lettered than generated`);
  const rows = [
    ['generated (acknowledged by Kafka, catalog records apart)', n(events), ''],
    ['saved in the realtime database', n(saved), n(events - summary.invalidTotal - duplicates)],
    ['dead letters', n(deadLetters), `${n(summary.invalidTotal)} (invalid on purpose)`],
    ['duplicates of a saved event (same id, saved once)', n(duplicates), ''],
    ['difference (generated - saved - dead letters - duplicates)', n(difference), '0'],
  ];
  if (appended !== undefined) rows.push(['messages Kafka took into the topics (catalog records included)', n(appended), n(summary.sent)]);
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
