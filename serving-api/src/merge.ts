/**
 * The Lambda merge: "as of now" = the warehouse's facts (the batch view) + the realtime
 * database's events the warehouse does not hold yet (the speed view), each event counted once.
 *
 * Where the split falls. The facts job's watermark W (etl_watermarks, job 'facts') is the newest
 * `ingested_at` it has loaded. Splitting at W alone would be wrong twice over: a realtime row
 * committed late (its `ingested_at` is its transaction's start, so it can be older than W yet
 * commit after the run read the realtime database) would be in neither side, which is why the
 * facts job itself stages again the rows ingested within its lookback of W; and a ranged run
 * (`--from/--to`) loads rows ingested after W without moving W, which would then be in both.
 * So the split is by the set of events the warehouse holds, not by a timestamp:
 *
 *   batch side = every fact row in the warehouse snapshot S;
 *   speed side = realtime transactions ingested after W - overlap (`mergeOverlapMinutes`, at
 *                least the facts job's lookback) whose id is NOT in the warehouse snapshot S.
 *
 * Consistency while a batch run commits. Everything warehouse-side (W, the batch aggregates and
 * the check of which candidate ids S holds) is read in ONE repeatable-read, read-only
 * transaction of the warehouse, so a run committing meanwhile is either entirely in S or not at
 * all. The realtime side is one repeatable-read snapshot too (all its statements agree), opened
 * after S: every row S holds was committed in realtime before the run
 * that loaded it committed, so it is among the candidates and excluded from the speed side;
 * every candidate S does not hold is counted by the speed side. Rows a run commits after S are
 * simply not in this answer's batch side, and are counted on the speed side instead.
 *
 * Why raw rows and not the speed view: speed_minute_metrics aggregates by event minute, with no
 * ingestion time and an order counted once per category, so it can neither be cut at the
 * warehouse's event ids nor count distinct customers. The speed side reads transactions (indexed
 * on ingested_at) and their lines: after a batch run, only the minutes since the watermark.
 *
 * A transaction's lines are loaded together (one realtime commit, one staged snapshot, one
 * insert), so "S holds line 1" means "S holds the transaction". A fact keeps its raw row's
 * ingested_at, so every candidate S holds is among the line-1 facts of S ingested after the speed
 * side's start (a second of margin for a copy that lost precision): those ids, read by warehouse
 * migration 0013's index without asking realtime for its candidates first, are the ones the speed
 * side leaves out (an anti-join). An id among them that is not a candidate excludes nothing.
 * bench:api at 5M events: 4,800 ids, an index-only scan of 1.9 ms, where matching the candidates
 * against the facts of their event dates scanned every month of the year (145 ms).
 *
 * The batch side may come from a cache (`batchCache`): it is kept with the facts version of
 * the snapshot it was read in (the facts watermark and the newest facts run that loaded lines,
 * both written in that run's transaction), and reused only by a read whose snapshot S has the
 * same version, i.e. the same facts. The speed side is always read anew against S, so an event
 * is still counted once even when a batch run commits between the two reads (then the version
 * differs and the batch side is read again in S).
 */
import type { PoolClient } from '@lambdamart/core';
import type { Databases } from './db.ts';
import type { TimeRange } from './schemas.ts';

/**
 * How far before the watermark the speed side looks for rows the warehouse may still lack. It
 * must be at least the facts job's lookback (batch-layer's `defaultLookbackMinutes`, 10): a row
 * committed later than that after its ingestion time is beyond the batch layer's own guarantee.
 */
export const mergeOverlapMinutes = 15;

export type Source = 'batch' | 'speed' | 'merged';

export interface MergeSplit {
  source: Source;
  /** The facts watermark the split used (null: no facts run yet). */
  batchUntil: Date | null;
  /** Realtime rows ingested after this are candidates for the speed side (null: all). */
  speedSince: Date | null;
  /** Candidates the warehouse snapshot already holds: excluded from the speed side. */
  loadedIds: string[];
  /** With a segment filter: the speed side's customers in that segment (else null: all). */
  segmentUsers: string[] | null;
}

export interface MergeReaders<B, S, J> {
  /** Reads the batch side in the warehouse snapshot. */
  batch: (wh: PoolClient, split: MergeSplit) => Promise<B>;
  /** Reads the speed side in the realtime snapshot (use `speedFilterSql`). */
  speed: (rt: PoolClient, split: MergeSplit) => Promise<S>;
  /** With both sides read: what the answer needs of the warehouse snapshot about the speed side (kpis: which of its customers the batch side counts). */
  join?: (wh: PoolClient, split: MergeSplit, speed: S) => Promise<J>;
}

export interface MergeResult<B, S, J> {
  split: MergeSplit;
  batch: B | null;
  speed: S | null;
  joined: J | null;
}

/** Where a batch side read before may be kept: `version` names the facts it was read from. */
export interface BatchSideCache<B> {
  get(version: string): B | undefined;
  set(version: string, value: B): void;
}

export async function readFactsWatermark(wh: PoolClient): Promise<Date | null> {
  const { rows } = await wh.query<{ watermark: Date }>("select watermark from etl_watermarks where job_name = 'facts'");
  return rows[0]?.watermark ?? null;
}

/**
 * The facts watermark, and the version of the facts: the watermark and the newest run that
 * loaded fact_sales lines (fact_load_dates, written in that run's transaction). Two snapshots
 * with one version hold the same facts.
 */
async function readFactsVersion(wh: PoolClient): Promise<{ watermark: Date | null; version: string }> {
  const { rows } = await wh.query<{ watermark: Date | null; run: string | null }>(
    `select (select watermark from etl_watermarks where job_name = 'facts') as watermark,
            (select max(run_id) from fact_load_dates where fact = 'fact_sales')::text as run`,
  );
  const watermark = rows[0]?.watermark ?? null;
  return { watermark, version: `${watermark?.toISOString() ?? '-'}|${rows[0]?.run ?? '-'}` };
}

/**
 * Reads both sides of `span` (the event-time range the readers cover) consistently; `source`
 * forces one side.
 */
export async function readMerged<B, S, J = never>(
  dbs: Databases,
  source: Source,
  span: TimeRange,
  readers: MergeReaders<B, S, J>,
  options: { segment?: string; batchCache?: BatchSideCache<B> } = {},
): Promise<MergeResult<B, S, J>> {
  return dbs.warehouse.snapshot(async (wh) => {
    // The first statement fixes the warehouse snapshot S.
    const { watermark: batchUntil, version } = await readFactsVersion(wh);
    const split: MergeSplit = {
      source,
      batchUntil,
      speedSince: batchUntil ? new Date(batchUntil.getTime() - mergeOverlapMinutes * 60_000) : null,
      loadedIds: [],
      segmentUsers: null,
    };
    const readBatch = async (): Promise<B> => {
      const kept = options.batchCache?.get(version);
      if (kept !== undefined) return kept;
      const read = await readers.batch(wh, split);
      options.batchCache?.set(version, read);
      return read;
    };
    if (source === 'batch') return { split, batch: await readBatch(), speed: null, joined: null };
    split.loadedIds = await heldByWarehouse(wh, split.speedSince);
    // The batch side's statements run on the warehouse while the realtime database reads the
    // speed side (S is fixed already). Both are awaited before the warehouse transaction ends.
    const [batchRead, speedRead] = await Promise.allSettled([
      source === 'speed' ? Promise.resolve(null) : readBatch(),
      dbs.realtime.snapshot(async (rt) => {
        if (options.segment !== undefined) {
          const values: unknown[] = [span.from, span.to];
          const { rows } = await rt.query<{ user_id: string }>(
            `select distinct t.user_id from transactions t
             where t.transaction_timestamp >= $1 and t.transaction_timestamp < $2 and ${speedFilterSql(split, values)}`,
            values,
          );
          split.segmentUsers = await usersInSegment(
            wh,
            rows.map((r) => r.user_id),
            options.segment,
          );
        }
        return readers.speed(rt, split);
      }),
    ]);
    if (batchRead.status === 'rejected') throw batchRead.reason;
    if (speedRead.status === 'rejected') throw speedRead.reason;
    const batch = batchRead.value;
    const speed = speedRead.value;
    const joined = readers.join && source === 'merged' ? await readers.join(wh, split, speed) : null;
    return { split, batch, speed, joined };
  });
}

/**
 * The transactions ingested after the speed side's start that the warehouse snapshot holds (see
 * the top of this file): the line-1 facts ingested after it, by warehouse migration 0013's index.
 */
async function heldByWarehouse(wh: PoolClient, since: Date | null): Promise<string[]> {
  const { rows } = await wh.query<{ id: string }>(
    `select f.transaction_id::text as id
     from fact_sales f
     where f.ingested_at > coalesce($1::timestamptz - interval '1 second', '-infinity') and f.line_number = 1`,
    [since],
  );
  return rows.map((r) => r.id);
}

/**
 * The speed side's customers in `segment`. The batch side filters on the customer version valid
 * at each order; for an order newer than the last batch run that is the current version, which
 * is what this reads. A customer the warehouse does not know yet is in 'Unknown', as the facts
 * job's unknown member is.
 */
async function usersInSegment(wh: PoolClient, users: string[], segment: string): Promise<string[]> {
  if (users.length === 0) return [];
  const { rows } = await wh.query<{ user_id: string; customer_segment: string }>(
    'select user_id, customer_segment from dim_customers where is_current and user_id = any($1::text[])',
    [users],
  );
  const current = new Map(rows.map((r) => [r.user_id, r.customer_segment]));
  return users.filter((u) => (current.get(u) ?? 'Unknown') === segment);
}

/**
 * The WHERE clause of the speed side over `transactions t`: ingested after the split's start and
 * not held by the warehouse. Parameters are appended to `values`.
 */
export function speedFilterSql(split: MergeSplit, values: unknown[]): string {
  values.push(split.speedSince, split.loadedIds);
  const since = values.length - 1;
  // An anti-join (a hash of the loaded ids), not `<> all(...)`, which compares each row with every id.
  const base = `t.ingested_at > coalesce($${since}::timestamptz, '-infinity')
    and not exists (select from unnest($${since + 1}::uuid[]) as loaded(id) where loaded.id = t.transaction_id)`;
  if (split.segmentUsers === null) return base;
  values.push(split.segmentUsers);
  return `${base} and t.user_id = any($${values.length}::text[])`;
}
