/**
 * quality: the checks of warehouse/sql/models/checks, each a query selecting the offending rows.
 * Every result is recorded in data_quality_results (outside the job's transaction, so a failing
 * run keeps them). A failing publication guard (checks.ts) fails the run with its name and a
 * sample of the rows; the other checks are warnings: recorded, logged and listed in the run's
 * details. The guards also run in the facts job before it commits (over what it wrote); here
 * they catch what was written around the jobs.
 *
 * A run checks what can have broken since the last run whose guards all passed (quality.coverage:
 * its snapshot and the newest facts run it saw), and everything on a full refresh, on the first
 * run, or when a change log cannot be trusted (a trigger gone, a dimension truncated). It writes
 * its scope, in its transaction, into the quality.* tables the checks read (migration 0006):
 *   - checked_dates: per fact, the event dates loaded (fact_load_dates) or updated (trigger log);
 *   - checked_keys: per SCD2 dimension, the natural keys with a version written (xmin), deleted or
 *     moved (trigger log);
 *   - moved_versions: the dimension rows deleted or moved, with the event times they left;
 *   - event_id_candidates: the event ids per-month Bloom filters flag as maybe loaded twice.
 * Each check's SQL says why its part is enough. The coverage and the filters are written in the
 * job's transaction: only a run that succeeds (no guard failed) moves them.
 */
import type { PoolClient } from '@lambdamart/core';
import { listModels, loadModel } from '@lambdamart/warehouse';
import { to as copyTo } from 'pg-copy-streams';
import { type CheckFailure, DataQualityError, runCheck } from '../checks.ts';
import { copyQueryToTable } from '../copy.ts';
import type { JobContext, JobDefinition } from '../job.ts';
import { createStagingTables, StagingTables } from '../staging.ts';
import { defaultLookbackMinutes } from '../window.ts';

const revenueWindowMs = 24 * 3600_000;
const factTables = ['fact_sales', 'fact_product_views', 'fact_cart_events'] as const;
type FactTable = (typeof factTables)[number];

/** The triggers of migration 0006 that log the changes a scoped run relies on. */
const changeLogTriggers = [
  ...factTables.map((fact) => `${fact}_quality`),
  ...['dim_products', 'dim_customers', 'dim_date', 'dim_geography'].flatMap((dim) =>
    ['delete', 'update', 'truncate'].map((event) => `${dim}_quality_${event}`),
  ),
];

export { DataQualityError };

export const qualityJob: JobDefinition = {
  name: 'quality',
  description: 'unique and not-null keys, facts have dimension rows, fact revenue = raw revenue, one current row',
  dependsOn: ['facts', 'analytics'],
  async run(ctx) {
    // The checks are short queries over many partitions: compiling them would take longer.
    await ctx.wh.query('set local jit = off');
    const scope = await planScope(ctx);
    ctx.logger.info({ full: scope.fullBecause ?? false }, 'data-quality scope planned');
    const staged = await stageRevenueWindow(ctx);
    // A scoped run reads a few partitions: starting parallel workers would cost more than it saves.
    if (!scope.fullBecause) await ctx.wh.query('set local max_parallel_workers_per_gather = 0');
    const searches = await prepareDuplicateSearch(ctx.wh, scope);
    const { withCandidates, others } = await checksByInput();
    // The event ids stream on a connection of their own (both cores) while the other checks run.
    const searching = searchDuplicatesBeside(ctx, searches);
    // Awaited below; a failure must not go unhandled meanwhile.
    searching.catch(() => undefined);
    const failures: CheckFailure[] = [];
    for (const check of others) {
      const failure = await runCheck(ctx, check);
      if (failure) failures.push(failure);
    }
    const flagged = await searching;
    await saveCandidates(ctx.wh, flagged);
    for (const check of withCandidates) {
      const failure = await runCheck(ctx, check);
      if (failure) failures.push(failure);
    }
    const errors = failures.filter((f) => f.severity === 'error');
    if (errors.length) throw new DataQualityError(errors);
    const warnings = failures.map((f) => f.check);
    if (warnings.length) ctx.logger.warn({ warnings: new DataQualityError(failures).message }, 'data-quality warnings');
    // Warnings do not hold the coverage back: recorded once, they are checked again when their
    // rows change (or on a full check), and the next runs' scope does not grow meanwhile.
    await recordCoverage(ctx.wh, scope, flagged);
    const checks = withCandidates.length + others.length;
    return {
      rowsIn: staged,
      rowsOut: checks,
      details: {
        checks,
        full: scope.fullBecause !== null,
        candidates: flagged.candidates.length,
        ...(warnings.length ? { warnings } : {}),
      },
    };
  },
};

/** The checks, those reading quality.event_id_candidates apart (they run once it is written). */
async function checksByInput(): Promise<{ withCandidates: string[]; others: string[] }> {
  const withCandidates: string[] = [];
  const others: string[] = [];
  for (const model of await listModels('checks')) {
    const check = model.slice('checks/'.length);
    ((await loadModel(model)).includes('quality.event_id_candidates') ? withCandidates : others).push(check);
  }
  return { withCandidates, others };
}

/**
 * Raw orders to reconcile: the last day of what the facts job has loaded (all of it on a full
 * refresh), as the facts saw it. Savers commit out of ingested_at order: an order ingested just
 * before the facts watermark may have been committed after the run that set it, and only the
 * next run's lookback loads it. So an order ingested within the lookback before the watermark is
 * compared only if the snapshot of the last facts run (fact_source_snapshot) shows it; one
 * ingested before that, every facts run since has staged (a missing one is really missing).
 */
async function stageRevenueWindow(ctx: JobContext): Promise<number> {
  const loadedUpTo = await ctx.watermarkOf('facts');
  const settledUpTo = loadedUpTo && new Date(loadedUpTo.getTime() - (ctx.options.lookbackMinutes ?? defaultLookbackMinutes) * 60_000);
  const extract = await loadModel('extract_transactions', {
    since: loadedUpTo && !ctx.options.fullRefresh ? new Date(loadedUpTo.getTime() - revenueWindowMs).toISOString() : '-infinity',
    // +1 ms: the watermark went through a JS Date, which drops the microseconds.
    until: loadedUpTo ? new Date(loadedUpTo.getTime() + 1).toISOString() : '-infinity',
    from_ts: ctx.options.from ? `${ctx.options.from}T00:00:00Z` : '-infinity',
    to_ts: 'infinity',
  });
  const { rows } = await ctx.wh.query<{ snapshot: string }>('select realtime_snapshot::text as snapshot from fact_source_snapshot');
  const seen = rows[0]?.snapshot;
  // Committed after the facts' snapshot: xmin (32-bit) at or past its xmax, or running then.
  const { xmax, running } = thirtyTwoBitXids(seen ?? '0:0:');
  const shownToFacts = seen ? `not (age(xmin) <= age('${xmax}'::xid) or xmin = any('{${running.join(',')}}'::xid[]))` : 'false';
  const query = settledUpTo
    ? `select * from (${extract}) orders
       where ingested_at <= '${settledUpTo.toISOString()}'
          or transaction_id in (select transaction_id from transactions where ingested_at > '${settledUpTo.toISOString()}' and ${shownToFacts})`
    : extract;
  await createStagingTables(ctx.wh);
  const staged = await copyQueryToTable(ctx.rt, query, ctx.wh, StagingTables.transactions);
  await ctx.wh.query(`analyze ${StagingTables.transactions}`);
  return staged;
}

// ---------------------------------------------------------------- scope

interface Scope {
  /** Why everything is checked, or null when only what changed since the coverage is. */
  fullBecause: string | null;
  /** This run's coverage once it passes: its snapshot, the newest facts run and the fact partitions it saw. */
  snapshot: string;
  factsRunId: number;
  partitions: FactPartition[];
  /** The fact partitions created since the coverage (all of them on a full check): every row of theirs is new. */
  newPartitions: FactPartition[];
}

interface Coverage {
  snapshot: string;
  factsRunId: number;
  partitions: number[];
}

interface FactPartition {
  fact: FactTable;
  oid: number;
  name: string;
  /** FOR VALUES FROM ('2026-01-01') TO ('2026-02-01'), or DEFAULT. */
  bound: string;
}

async function planScope(ctx: JobContext): Promise<Scope> {
  const { wh } = ctx;
  // First of all: every change visible in this snapshot is visible to the reads below.
  const now = await wh.query<{ snapshot: string; facts_run_id: number }>(
    `select pg_current_snapshot()::text as snapshot, coalesce(max(run_id), 0) as facts_run_id from fact_load_dates`,
  );
  const partitions = await factPartitions(wh);
  const previous = await wh.query<{ snapshot: string; facts_run_id: number; fact_partitions: number[] }>(
    'select covered::text as snapshot, facts_run_id, fact_partitions::int8[] as fact_partitions from quality.coverage',
  );
  const row = previous.rows[0];
  const covered = row ? { snapshot: row.snapshot, factsRunId: row.facts_run_id, partitions: row.fact_partitions.map(Number) } : null;
  const fullBecause = await fullCheckReason(ctx, covered);
  await wh.query(
    'truncate quality.checked_dates, quality.checked_since, quality.checked_keys, quality.moved_versions, quality.event_id_candidates',
  );
  const newPartitions = fullBecause || !covered ? partitions : partitions.filter((p) => !covered.partitions.includes(p.oid));
  if (fullBecause || !covered) await scopeEverything(wh, partitions);
  else await scopeChangesSince(wh, covered, newPartitions);
  await wh.query('analyze quality.checked_dates, quality.checked_keys, quality.moved_versions');
  return { fullBecause, snapshot: now.rows[0]?.snapshot ?? '', factsRunId: now.rows[0]?.facts_run_id ?? 0, partitions, newPartitions };
}

async function factPartitions(wh: PoolClient): Promise<FactPartition[]> {
  const { rows } = await wh.query<FactPartition>(
    `select i.inhparent::regclass::text as fact, c.oid::int8 as oid, c.oid::regclass::text as name,
            pg_get_expr(c.relpartbound, c.oid) as bound
     from pg_inherits i join pg_class c on c.oid = i.inhrelid
     where i.inhparent = any($1::regclass[])`,
    [factTables],
  );
  return rows;
}

async function fullCheckReason(ctx: JobContext, covered: Coverage | null): Promise<string | null> {
  if (ctx.options.fullRefresh) return 'full refresh';
  if (!covered) return 'no earlier run passed';
  const { rows } = await ctx.wh.query<{ triggers: number; truncated: boolean }>(
    `select (select count(*) from pg_trigger where tgname = any($1::text[]) and tgenabled <> 'D')::int as triggers,
            exists (select 1 from quality.dimension_changes
                    where key is null and not pg_visible_in_snapshot(written_by, $2::pg_snapshot)) as truncated`,
    [changeLogTriggers, covered.snapshot],
  );
  if (rows[0]?.triggers !== changeLogTriggers.length) return 'a change-log trigger is missing or disabled';
  if (rows[0]?.truncated) return 'a dimension was truncated';
  return null;
}

/** Every row: every date each fact can hold, every partition, every natural key. */
async function scopeEverything(wh: PoolClient, partitions: FactPartition[]): Promise<void> {
  await addPartitionDates(wh, partitions);
  await wh.query(
    `insert into quality.checked_since (everything, first_new_xid, running_xids, new_partitions) values (true, '0', '{}', $1::oid[])`,
    [partitions.map((p) => p.oid)],
  );
  await wh.query(
    `insert into quality.checked_keys (dimension, natural_key)
     select distinct 'dim_products', product_id from dim_products
     union all
     select distinct 'dim_customers', user_id from dim_customers`,
  );
}

/** The dates the partitions can hold: a bounded one's range, a default one's rows' dates. */
async function addPartitionDates(wh: PoolClient, partitions: FactPartition[]): Promise<void> {
  for (const { fact, name, bound } of partitions) {
    const range = partitionRange(bound);
    await wh.query(
      range
        ? `insert into quality.checked_dates (fact, event_date)
           select $1, d::date from generate_series($2::date, $3::date - 1, interval '1 day') d`
        : `insert into quality.checked_dates (fact, event_date) select distinct $1, event_date from ${name}`,
      range ? [fact, range.from, range.to] : [fact],
    );
  }
}

/** The rows, natural keys and moved versions changed since `covered` (see the module comment). */
async function scopeChangesSince(wh: PoolClient, covered: Coverage, newPartitions: FactPartition[]): Promise<void> {
  await addPartitionDates(wh, newPartitions);
  await wh.query(
    `insert into quality.checked_dates (fact, event_date)
     select fact, event_date from fact_load_dates where run_id > $1
     union
     select fact, event_date from quality.fact_updates where not pg_visible_in_snapshot(written_by, $2::pg_snapshot)
     except
     select fact, event_date from quality.checked_dates`,
    [covered.factsRunId, covered.snapshot],
  );
  // A row version is newer than the snapshot when its xmin is at or past the snapshot's xmax, or
  // was running then. xmin is a 32-bit xid: age() compares it with the snapshot's in that space.
  const { xmax, running } = thirtyTwoBitXids(covered.snapshot);
  await wh.query(
    `insert into quality.checked_since (everything, first_new_xid, running_xids, new_partitions) values (false, $1::xid, $2::xid[], $3::oid[])`,
    [xmax, running, newPartitions.map((p) => p.oid)],
  );
  await wh.query(
    `insert into quality.checked_keys (dimension, natural_key)
     select 'dim_products', product_id from dim_products where age(xmin) <= age($1::xid) or xmin = any($2::xid[])
     union
     select 'dim_customers', user_id from dim_customers where age(xmin) <= age($1::xid) or xmin = any($2::xid[])
     union
     select dimension, natural_key from quality.dimension_changes
     where dimension in ('dim_products', 'dim_customers') and not pg_visible_in_snapshot(written_by, $3::pg_snapshot)`,
    [xmax, running, covered.snapshot],
  );
  await wh.query(
    `insert into quality.moved_versions (dimension, key, moved_from, moved_to)
     with changed as (
       select distinct dimension, key, natural_key, effective_from, coalesce(effective_to, 'infinity') as effective_to
       from quality.dimension_changes
       where key is not null and not pg_visible_in_snapshot(written_by, $1::pg_snapshot)
     ),
     now_valid as (
       select 'dim_products' as dimension, product_id_pk as key, product_id as natural_key,
              effective_from, coalesce(effective_to, 'infinity') as effective_to
       from dim_products where product_id_pk in (select key from changed where dimension = 'dim_products')
       union all
       select 'dim_customers', customer_id, user_id, effective_from, coalesce(effective_to, 'infinity')
       from dim_customers where customer_id in (select key from changed where dimension = 'dim_customers')
       union all
       select 'dim_date', date_id, full_date::text, full_date::timestamptz, (full_date + 1)::timestamptz
       from dim_date where date_id in (select key from changed where dimension = 'dim_date')
       union all
       select 'dim_geography', geography_id, country, '-infinity', 'infinity'
       from dim_geography where geography_id in (select key from changed where dimension = 'dim_geography')
     ),
     -- All of the old validity when the row is gone or stands for another natural key; else
     -- what it no longer covers: before its new start and after its new end.
     moved as (
       select c.dimension, c.key, c.effective_from as moved_from, c.effective_to as moved_to
       from changed c left join now_valid n on n.dimension = c.dimension and n.key = c.key
       where n.key is null or n.natural_key <> c.natural_key
       union all
       select c.dimension, c.key, c.effective_from, least(c.effective_to, n.effective_from)
       from changed c join now_valid n on n.dimension = c.dimension and n.key = c.key and n.natural_key = c.natural_key
       union all
       select c.dimension, c.key, greatest(c.effective_from, n.effective_to), c.effective_to
       from changed c join now_valid n on n.dimension = c.dimension and n.key = c.key and n.natural_key = c.natural_key
     )
     select distinct dimension, key, moved_from, moved_to from moved where moved_from < moved_to`,
    [covered.snapshot],
  );
}

/** A snapshot's xmax and running xids ("xmin:xmax:xip,...", 64-bit) as 32-bit xids. */
function thirtyTwoBitXids(snapshot: string): { xmax: string; running: string[] } {
  const [, xmax = '0', running = ''] = snapshot.split(':');
  const low = (xid: string) => (BigInt(xid) % 4294967296n).toString();
  return { xmax: low(xmax), running: running ? running.split(',').map(low) : [] };
}

async function recordCoverage(wh: PoolClient, scope: Scope, filters: FlaggedIds): Promise<void> {
  await saveFilters(wh, scope, filters);
  await wh.query(
    `insert into quality.coverage (covered, facts_run_id, fact_partitions) values ($1::pg_snapshot, $2, $3::oid[])
     on conflict (only_row) do update
     set covered = excluded.covered, facts_run_id = excluded.facts_run_id, fact_partitions = excluded.fact_partitions, checked_at = now()`,
    [scope.snapshot, scope.factsRunId, scope.partitions.map((p) => p.oid)],
  );
  // What this snapshot shows has been checked now (by this run or an earlier one).
  await wh.query('delete from quality.fact_updates where pg_visible_in_snapshot(written_by, $1::pg_snapshot)', [scope.snapshot]);
  await wh.query('delete from quality.dimension_changes where pg_visible_in_snapshot(written_by, $1::pg_snapshot)', [scope.snapshot]);
}

// ---------------------------------------------------------------- event ids loaded twice

/**
 * A month's filter is built with 32 bits per expected id (the count is an estimate), kept with 16
 * to 32 per id (folded once the count is known) and rebuilt below 12. With 11 hashes a test of
 * an id the filter lacks is a false positive about once in 2,000 tests at 16 bits per id (once in
 * 300 at 12, once in a million at 32).
 */
const buildBitsPerId = 32;
const keptBitsPerId = 16;
const minimumBitsPerId = 12;
const filterHashes = 11;

/**
 * A Bloom filter of event ids: `hashes` positions per id (double hashing of two 32-bit hashes) in
 * a bit array whose size is a power of two, so that it folds in half (position mod size/2).
 */
class EventIdFilter {
  private readonly mask: number;

  constructor(
    readonly bits: Uint8Array,
    readonly hashes: number,
    public ids = 0,
  ) {
    this.mask = bits.length * 8 - 1;
  }

  static forIds(expected: number): EventIdFilter {
    const bits = 2 ** Math.ceil(Math.log2(Math.max(expected, 1024) * buildBitsPerId));
    return new EventIdFilter(new Uint8Array(bits / 8), filterHashes);
  }

  has(h1: number, h2: number): boolean {
    for (let i = 0; i < this.hashes; i++) {
      const bit = (h1 + Math.imul(i, h2)) & this.mask;
      if (((this.bits[bit >>> 3] ?? 0) & (1 << (bit & 7))) === 0) return false;
    }
    return true;
  }

  /** Fewer than minimumBitsPerId bits per id: false positives grow fast from there. */
  overfull(): boolean {
    return this.bits.length * 8 < this.ids * minimumBitsPerId;
  }

  add(h1: number, h2: number): void {
    for (let i = 0; i < this.hashes; i++) {
      const bit = (h1 + Math.imul(i, h2)) & this.mask;
      this.bits[bit >>> 3] = (this.bits[bit >>> 3] ?? 0) | (1 << (bit & 7));
    }
    this.ids++;
  }

  /** The same filter in fewer bits (OR of the halves) while it keeps keptBitsPerId per id. */
  folded(): EventIdFilter {
    let bits = this.bits;
    while (bits.length > 128 && (bits.length * 8) / 2 >= this.ids * keptBitsPerId) {
      const half = bits.slice(0, bits.length / 2);
      for (let i = 0; i < half.length; i++) half[i] = (half[i] ?? 0) | (bits[i + half.length] ?? 0);
      bits = half;
    }
    return new EventIdFilter(bits, this.hashes, this.ids);
  }
}

/** Two 32-bit hashes of an id's bytes (FNV-1a and a multiplicative one, each finished by murmur3's fmix32). */
const hashes = new Uint32Array(2);
function hashId(id: Uint8Array): void {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (const c of id) {
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  hashes[0] = fmix32(a);
  hashes[1] = fmix32(b) | 1;
}

function fmix32(h: number): number {
  let x = h;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A fact's event ids to stream: which rows, and the month filters to test them against and add them to. */
interface DuplicateSearch {
  fact: FactTable;
  /** The rows written since the coverage, or every row. */
  query: string;
  filters: Map<string, EventIdFilter>;
  /** Rows per month, for sizing a new month's filter. */
  expected: Map<string, number>;
}

interface FlaggedIds {
  /** Per fact, the month filters that took ids, to save. */
  changed: Map<FactTable, Map<string, EventIdFilter>>;
  candidates: { fact: FactTable; eventId: string; month: string }[];
}

/**
 * What to stream per fact: the rows written since the coverage (every row on a full check),
 * against the stored month filters but those of months whose partition is new (their filters
 * are rebuilt from their rows). Read in the job's transaction, which holds the scope.
 */
async function prepareDuplicateSearch(wh: PoolClient, scope: Scope): Promise<DuplicateSearch[]> {
  const searches: DuplicateSearch[] = [];
  for (const fact of factTables) {
    const filters = scope.fullBecause
      ? new Map<string, EventIdFilter>()
      : await loadFilters(wh, fact, await monthsToRebuild(wh, scope, fact));
    // A filter that took too many ids since it was built is rebuilt from its month's rows.
    const overfull = [...filters].filter(([, filter]) => filter.overfull()).map(([month]) => month);
    for (const month of overfull) filters.delete(month);
    const query = scope.fullBecause ? `select event_id, event_date from ${fact}` : await writtenSinceQuery(wh, fact, overfull);
    if (query) searches.push({ fact, query, filters, expected: await expectedIdsPerMonth(wh, fact) });
  }
  return searches;
}

/**
 * The (event_id, event_date) of the rows of `fact` written since the coverage and of every row
 * of `wholeMonths`, with the scope written out (another connection runs it); null when none.
 */
async function writtenSinceQuery(wh: PoolClient, fact: FactTable, wholeMonths: string[]): Promise<string | null> {
  const { rows } = await wh.query<{ dates: string[]; first: string; last: string; since: string }>(
    `select array_agg(d.event_date::text) as dates, min(d.event_date)::text as first, max(d.event_date)::text as last,
            format('f.tableoid = any(%L::oid[]) or age(f.xmin) <= age(%L::xid) or f.xmin = any(%L::xid[])',
                   s.new_partitions, s.first_new_xid, s.running_xids) as since
     from quality.checked_dates d, quality.checked_since s
     where d.fact = $1
     group by s.new_partitions, s.first_new_xid, s.running_xids`,
    [fact],
  );
  const scope = rows[0];
  const parts = wholeMonths.map((m) => `(f.event_date >= '${m}' and f.event_date < date '${m}' + interval '1 month')`);
  if (scope) {
    parts.push(`(f.event_date between '${scope.first}' and '${scope.last}'
                 and f.event_date = any('{${scope.dates.join(',')}}'::date[])
                 and (${scope.since}))`);
  }
  return parts.length ? `select f.event_id, f.event_date from ${fact} f where ${parts.join(' or ')}` : null;
}

/** searchDuplicates on a warehouse connection beside the job's (the facts it reads are committed). */
async function searchDuplicatesBeside(ctx: JobContext, searches: DuplicateSearch[]): Promise<FlaggedIds> {
  const reader = await ctx.pools.warehouse.connect();
  try {
    await reader.query('begin isolation level repeatable read read only');
    await reader.query('set local jit = off');
    const flagged = await searchDuplicates(reader, searches);
    await reader.query('commit');
    reader.release();
    return flagged;
  } catch (error) {
    // A connection that failed mid-COPY is closed rather than handed on.
    reader.release(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
}

/**
 * Streams each search's event ids past its month filters; an id a filter holds becomes a
 * candidate with that filter's month and its own; then the id joins its own month's filter.
 */
async function searchDuplicates(reader: PoolClient, searches: DuplicateSearch[]): Promise<FlaggedIds> {
  const flagged: FlaggedIds = { changed: new Map(), candidates: [] };
  for (const { fact, query, filters, expected } of searches) {
    const changed = new Map<string, EventIdFilter>();
    const idText = fact === 'fact_sales' ? (id: Uint8Array) => Buffer.from(id).toString('latin1') : uuidText;
    await forEachEventId(reader, fact, query, (id, days) => {
      const month = monthOf(days);
      hashId(id);
      const [h1 = 0, h2 = 0] = hashes;
      const found = flagged.candidates.length;
      for (const [other, filter] of filters) {
        if (filter.has(h1, h2)) flagged.candidates.push({ fact, eventId: idText(id), month: other });
      }
      if (flagged.candidates.length > found) flagged.candidates.push({ fact, eventId: idText(id), month });
      let own = filters.get(month);
      if (!own) {
        own = EventIdFilter.forIds(expected.get(month) ?? 0);
        filters.set(month, own);
      }
      own.add(h1, h2);
      changed.set(month, own);
    });
    flagged.changed.set(fact, changed);
  }
  return flagged;
}

async function saveCandidates(wh: PoolClient, flagged: FlaggedIds): Promise<void> {
  const { candidates } = flagged;
  await wh.query(
    `insert into quality.event_id_candidates (fact, event_id, month) select * from unnest($1::text[], $2::text[], $3::date[])`,
    [candidates.map((c) => c.fact), candidates.map((c) => c.eventId), candidates.map((c) => c.month)],
  );
  await wh.query('analyze quality.event_id_candidates');
}

/** The first days of the months whose partition of `fact` is new since the coverage. */
async function monthsToRebuild(wh: PoolClient, scope: Scope, fact: FactTable): Promise<string[]> {
  const months = new Set<string>();
  for (const { name, bound } of scope.newPartitions.filter((p) => p.fact === fact)) {
    const range = partitionRange(bound);
    if (range) months.add(range.from);
    else {
      const { rows } = await wh.query<{ month: string }>(
        `select distinct date_trunc('month', event_date)::date::text as month from ${name}`,
      );
      for (const { month } of rows) months.add(month);
    }
  }
  return [...months];
}

/** The stored filters of `fact` but those of `except`. */
async function loadFilters(wh: PoolClient, fact: FactTable, except: string[]): Promise<Map<string, EventIdFilter>> {
  const { rows } = await wh.query<{ month: string; ids: number; hashes: number; bits: Buffer }>(
    `select month::text as month, ids, hashes, bits from quality.event_id_filters where fact = $1 and month <> all($2::date[])`,
    [fact, except],
  );
  return new Map(rows.map((r) => [r.month, new EventIdFilter(r.bits, r.hashes, r.ids)]));
}

/**
 * Rows per month (what a new filter is sized for): the planner's count for the month's partition,
 * else what the facts runs say they loaded into it (more than it holds after a reload). A month
 * is its partition's lower bound, never parsed from a name: a filter on a name would be pushed
 * down to every row of pg_class, where TOAST tables (pg_toast_<oid>) end in six digits too.
 */
export async function expectedIdsPerMonth(wh: PoolClient, fact: FactTable): Promise<Map<string, number>> {
  const partitions = await wh.query<{ bound: string; tuples: number }>(
    `select pg_get_expr(c.relpartbound, c.oid) as bound, c.reltuples::float8 as tuples
     from pg_inherits i join pg_class c on c.oid = i.inhrelid
     where i.inhparent = $1::text::regclass`,
    [fact],
  );
  const loaded = await wh.query<{ month: string; rows: number }>(
    `select date_trunc('month', event_date)::date::text as month, sum(rows)::float8 as rows
     from fact_load_dates where fact = $1::text group by 1`,
    [fact],
  );
  const loadedPerMonth = new Map(loaded.rows.map((r) => [r.month, r.rows]));
  const expected = new Map<string, number>();
  for (const { bound, tuples } of partitions.rows) {
    const range = partitionRange(bound);
    // The default partition has no month of its own.
    if (range) expected.set(range.from, tuples > 0 ? tuples : (loadedPerMonth.get(range.from) ?? 0));
  }
  return expected;
}

/**
 * Calls `row` with each event id (its bytes: a uuid's 16, a text's characters: what the stored
 * filters were built from) and event date (days since 2000-01-01) of `query`. The ids come as
 * hex in a text COPY, one row a line: lines split anywhere between stream chunks are simply
 * joined, and no value can hold the tab or newline that delimit them.
 */
async function forEachEventId(
  client: PoolClient,
  fact: FactTable,
  query: string,
  row: (id: Uint8Array, days: number) => void,
): Promise<void> {
  await readEventIds(client.query(copyTo(eventIdCopy(query, fact === 'fact_sales' ? 'text' : 'uuid'))), row);
}

/** The COPY of `query`'s (event_id, event_date) whose output readEventIds reads. */
export function eventIdCopy(query: string, idType: 'uuid' | 'text'): string {
  const bytes = idType === 'uuid' ? 'uuid_send(event_id)' : `convert_to(event_id, 'UTF8')`;
  return `copy (select encode(${bytes}, 'hex'), event_date - date '2000-01-01' from (${query}) ids) to stdout`;
}

/** Reads the output of eventIdCopy, in chunks split anywhere. */
export async function readEventIds(chunks: AsyncIterable<unknown>, row: (id: Uint8Array, days: number) => void): Promise<void> {
  let id = new Uint8Array(64);
  const line = (buf: Buffer, start: number, end: number) => {
    const tab = buf.indexOf(9, start);
    if (tab < 0 || tab > end || (tab - start) % 2 !== 0)
      throw new Error(`event id COPY: malformed row ${JSON.stringify(buf.toString('latin1', start, end))}`);
    const length = (tab - start) / 2;
    if (length > id.length) id = new Uint8Array(length * 2);
    for (let i = 0; i < length; i++) id[i] = (hexValue(buf[start + 2 * i]) << 4) | hexValue(buf[start + 2 * i + 1]);
    row(id.subarray(0, length), Number(buf.toString('latin1', tab + 1, end)));
  };
  let rest: Buffer | null = null;
  for await (const chunk of chunks) {
    const buf = chunk as Buffer;
    let at = 0;
    if (rest) {
      const newline = buf.indexOf(10);
      if (newline < 0) {
        rest = Buffer.concat([rest, buf]);
        continue;
      }
      const joined: Buffer = Buffer.concat([rest, buf.subarray(0, newline)]);
      line(joined, 0, joined.length);
      at = newline + 1;
      rest = null;
    }
    for (let newline = buf.indexOf(10, at); newline >= 0; newline = buf.indexOf(10, at)) {
      line(buf, at, newline);
      at = newline + 1;
    }
    if (at < buf.length) rest = buf.subarray(at);
  }
  if (rest) throw new Error('event id COPY: the stream ended inside a row');
}

function hexValue(c: number | undefined): number {
  // '0'-'9' are 48-57, 'a'-'f' 97-102 (encode() writes lower case).
  if (c !== undefined && c >= 48 && c <= 57) return c - 48;
  if (c !== undefined && c >= 97 && c <= 102) return c - 87;
  throw new Error(`event id COPY: ${c === undefined ? 'a missing' : `the byte ${c} is not a`} hex digit`);
}

const months = new Map<number, string>();
/** The first day of the month of a date given as days since 2000-01-01 (PostgreSQL's binary date). */
function monthOf(days: number): string {
  let month = months.get(days);
  if (month === undefined) {
    month = `${new Date(Date.UTC(2000, 0, 1 + days)).toISOString().slice(0, 8)}01`;
    months.set(days, month);
  }
  return month;
}

function uuidText(id: Uint8Array): string {
  const hex = Buffer.from(id).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A partition bound FOR VALUES FROM ('2026-01-01') TO ('2026-02-01') as its dates; null for DEFAULT. */
function partitionRange(bound: string): { from: string; to: string } | null {
  const range = /^FOR VALUES FROM \('([0-9-]+)'\) TO \('([0-9-]+)'\)$/.exec(bound);
  return range ? { from: range[1] ?? '', to: range[2] ?? '' } : null;
}

/** Stores the month filters that took ids (all of them, and only them, after a full check). */
async function saveFilters(wh: PoolClient, scope: Scope, flagged: FlaggedIds): Promise<void> {
  if (scope.fullBecause) await wh.query('truncate quality.event_id_filters');
  for (const [fact, filters] of flagged.changed) {
    for (const [month, built] of filters) {
      const filter = built.folded();
      await wh.query(
        `insert into quality.event_id_filters (fact, month, ids, hashes, bits) values ($1, $2, $3, $4, $5)
         on conflict (fact, month) do update set ids = excluded.ids, hashes = excluded.hashes, bits = excluded.bits`,
        [fact, month, filter.ids, filter.hashes, Buffer.from(filter.bits.buffer, filter.bits.byteOffset, filter.bits.length)],
      );
    }
  }
}
