/**
 * The one check after every fault: every valid event in exactly one realtime row and one fact row
 * after a batch run, every invalid one in dead_letters with its reason, and the warehouse's
 * revenue equal to the revenue generated, to the cent.
 */
import { type Expected, expectedSaved } from './events.ts';
import { pollUntil, type Scenario, sleep } from './harness.ts';

export interface SavedCounts {
  transactions: number;
  items: number;
  views: number;
  carts: number;
  catalog: number;
  deadLetters: number;
}

export async function savedCounts(scenario: Scenario): Promise<SavedCounts> {
  const { rows } = await scenario.realtime.query<SavedCounts>(
    `select (select count(*)::int from transactions) as transactions,
            (select count(*)::int from transaction_items) as items,
            (select count(*)::int from product_view_events) as views,
            (select count(*)::int from cart_events) as carts,
            (select count(*)::int from product_catalog_events) as catalog,
            (select count(*)::int from dead_letters) as "deadLetters"`,
  );
  return rows[0] as SavedCounts;
}

/** Realtime rows + dead letters: the savers' output, comparable with expectedSaved(). */
export const totalSaved = (c: SavedCounts) => c.transactions + c.views + c.carts + c.catalog + c.deadLetters;

export const describeCounts = (c: SavedCounts) =>
  `${c.transactions} tx, ${c.views} views, ${c.carts} carts, ${c.catalog} catalog, ${c.deadLetters} DL`;

/**
 * Polls the saved counts (every `everyMs`, up to 2 minutes) until the savers have saved at least
 * `atLeast` rows and dead letters; returns the last counts either way.
 */
export async function untilSaved(scenario: Scenario, atLeast: number, everyMs = 50): Promise<SavedCounts> {
  return await pollUntil(
    () => savedCounts(scenario),
    (c) => totalSaved(c) >= atLeast,
    120_000,
    everyMs,
  );
}

/**
 * Waits until the savers have saved as many rows (and dead letters) as expected, then a moment
 * longer (a duplicate would show up now); returns the counts and the seconds it took.
 */
export async function waitForSavers(
  scenario: Scenario,
  expected: Expected,
  timeoutMs = 180_000,
): Promise<{ counts: SavedCounts; seconds: number }> {
  const started = Date.now();
  const want = expectedSaved(expected);
  let counts = await savedCounts(scenario).catch(() => null);
  while (counts === null || totalSaved(counts) < want) {
    if (Date.now() - started > timeoutMs) {
      throw new Error(
        `the savers did not account for every event within ${timeoutMs / 1000} s: ${counts ? `${totalSaved(counts)} (${describeCounts(counts)})` : 'database unreachable'} of ${want}`,
      );
    }
    await sleep(250);
    counts = await savedCounts(scenario).catch(() => null);
  }
  const seconds = (Date.now() - started) / 1000;
  await sleep(1000);
  return { counts: await savedCounts(scenario), seconds };
}

export interface Reconciliation {
  problems: string[];
  realtime: SavedCounts;
  facts: { sales: number; views: number; carts: number };
  revenue: { generated: string; realtime: string; warehouse: string };
}

const money = (c: bigint) => `${c / 100n}.${String(c % 100n).padStart(2, '0')}`;

/**
 * Runs the batch jobs (unless `batch: false`), then compares the realtime database, the dead
 * letters and the warehouse with what was generated. Returns the problems found (none: reconciled).
 */
export async function reconcile(scenario: Scenario, expected: Expected, options: { batch?: boolean } = {}): Promise<Reconciliation> {
  if (options.batch !== false) await scenario.runBatch();
  const problems: string[] = [];
  const realtime = await savedCounts(scenario);
  const rt = scenario.realtime;
  const wh = scenario.warehouse;

  // Realtime: exactly the expected ids (the primary keys make a duplicate row impossible, so a
  // count equal to the expected and no expected id missing mean exactly one row each).
  const idCheck = async (pool: typeof rt, table: string, column: string, ids: Set<string>, what: string) => {
    const { rows } = await pool.query<{ total: number; distinct_ids: number; missing: number }>(
      `select (select count(*)::int from ${table}) as total,
              (select count(distinct ${column})::int from ${table}) as distinct_ids,
              (select count(*)::int from unnest($1::uuid[]) as e(id) where not exists (select 1 from ${table} t where t.${column} = e.id)) as missing`,
      [[...ids]],
    );
    const r = rows[0] as { total: number; distinct_ids: number; missing: number };
    if (r.missing > 0) problems.push(`${what}: ${r.missing} of ${ids.size} expected ids missing`);
    if (r.distinct_ids !== ids.size) problems.push(`${what}: ${r.distinct_ids} distinct ids, expected ${ids.size}`);
    return r;
  };
  await idCheck(rt, 'transactions', 'transaction_id', expected.transactionIds, 'realtime transactions');
  await idCheck(rt, 'product_view_events', 'event_id', expected.viewIds, 'realtime views');
  await idCheck(rt, 'cart_events', 'event_id', expected.cartIds, 'realtime cart events');
  if (realtime.items !== expected.items) problems.push(`realtime transaction_items: ${realtime.items}, expected ${expected.items}`);
  if (realtime.catalog !== expected.catalogKeys.size)
    problems.push(`realtime product_catalog_events: ${realtime.catalog}, expected ${expected.catalogKeys.size}`);

  // Dead letters: each invalid payload once, from its topic, with a reason.
  const { rows: dead } = await rt.query<{ md5: string; topic: string; reason: string }>(
    "select md5(coalesce(payload, '')) as md5, source_topic as topic, reason from dead_letters",
  );
  const want = new Map<string, number>();
  for (const i of expected.invalid) {
    const k = `${scenario.topic(i.topic)} ${i.md5}`;
    want.set(k, (want.get(k) ?? 0) + 1);
  }
  const got = new Map<string, number>();
  for (const d of dead) {
    if (!d.reason?.trim()) problems.push(`a dead letter from ${d.topic} has no reason`);
    const k = `${d.topic} ${d.md5}`;
    got.set(k, (got.get(k) ?? 0) + 1);
  }
  let missingDead = 0;
  let extraDead = 0;
  for (const [k, n] of want) missingDead += Math.max(0, n - (got.get(k) ?? 0));
  for (const [k, n] of got) extraDead += Math.max(0, n - (want.get(k) ?? 0));
  if (missingDead > 0) problems.push(`${missingDead} of ${expected.invalid.length} invalid events not in dead_letters`);
  if (extraDead > 0) problems.push(`${extraDead} dead letters that no invalid event explains`);

  // Facts: one row per valid event (per line for sales), nothing twice.
  const { rows: factRows } = await wh.query<{
    sales: number;
    sales_tx: number;
    sales_dup: number;
    views: number;
    carts: number;
    revenue: string;
  }>(
    `select (select count(*)::int from fact_sales) as sales,
            (select count(distinct transaction_id)::int from fact_sales) as sales_tx,
            (select (count(*) - count(distinct event_id))::int from fact_sales) as sales_dup,
            (select count(distinct event_id)::int from fact_product_views) as views,
            (select count(distinct event_id)::int from fact_cart_events) as carts,
            (select coalesce(sum(total_amount), 0)::numeric(16, 2)::text from fact_sales) as revenue`,
  );
  const f = factRows[0] as { sales: number; sales_tx: number; sales_dup: number; views: number; carts: number; revenue: string };
  const { rows: factCounts } = await wh.query<{ views: number; carts: number }>(
    'select (select count(*)::int from fact_product_views) as views, (select count(*)::int from fact_cart_events) as carts',
  );
  const fc = factCounts[0] as { views: number; carts: number };
  if (f.sales !== expected.items) problems.push(`fact_sales: ${f.sales} lines, expected ${expected.items}`);
  if (f.sales_tx !== expected.transactionIds.size)
    problems.push(`fact_sales: ${f.sales_tx} transactions, expected ${expected.transactionIds.size}`);
  if (f.sales_dup !== 0) problems.push(`fact_sales: ${f.sales_dup} lines twice`);
  if (fc.views !== expected.viewIds.size || f.views !== expected.viewIds.size)
    problems.push(`fact_product_views: ${fc.views} rows (${f.views} distinct), expected ${expected.viewIds.size}`);
  if (fc.carts !== expected.cartIds.size || f.carts !== expected.cartIds.size)
    problems.push(`fact_cart_events: ${fc.carts} rows (${f.carts} distinct), expected ${expected.cartIds.size}`);
  const { rows: missingFacts } = await wh.query<{ missing: number }>(
    `select count(*)::int as missing from unnest($1::uuid[]) as e(id)
      where not exists (select 1 from fact_product_views v where v.event_id = e.id)`,
    [[...expected.viewIds]],
  );
  if ((missingFacts[0]?.missing ?? 0) > 0) problems.push(`fact_product_views: ${missingFacts[0]?.missing} expected views missing`);

  // Revenue to the cent: generated = realtime = warehouse.
  const { rows: rtRevenue } = await rt.query<{ revenue: string }>(
    'select coalesce(sum(total_amount), 0)::numeric(16, 2)::text as revenue from transactions',
  );
  const revenue = { generated: money(expected.revenueCents), realtime: rtRevenue[0]?.revenue ?? '?', warehouse: f.revenue };
  if (revenue.realtime !== revenue.generated) problems.push(`realtime revenue ${revenue.realtime}, generated ${revenue.generated}`);
  if (revenue.warehouse !== revenue.generated) problems.push(`warehouse revenue ${revenue.warehouse}, generated ${revenue.generated}`);

  return { problems, realtime, facts: { sales: f.sales, views: fc.views, carts: fc.carts }, revenue };
}

export const describeReconciliation = (r: Reconciliation) =>
  `${describeCounts(r.realtime)}; facts ${r.facts.sales} lines, ${r.facts.views} views, ${r.facts.carts} carts; revenue ${r.revenue.warehouse}`;
