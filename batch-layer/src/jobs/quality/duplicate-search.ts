/**
 * Event ids loaded twice: each fact's ids written since the coverage (every id on a full check)
 * stream past the stored month filters; an id a filter may hold becomes a candidate in
 * quality.event_id_candidates, which the check fact_unique_event_id then counts for real.
 */

import type { PoolClient } from '@lambdamart/core';
import type { JobContext } from '../../runner/job.ts';
import { type FactTable, factTables, partitionRange } from '../../shared/fact-tables.ts';
import { EventIdFilter, hashes, hashId } from './event-id-filter.ts';
import { forEachEventId, monthOf, uuidText } from './event-id-stream.ts';
import type { Scope } from './scope.ts';

/** A fact's event ids to stream: which rows, and the month filters to test them against and add them to. */
export interface DuplicateSearch {
  fact: FactTable;
  /** The rows written since the coverage, or every row. */
  query: string;
  filters: Map<string, EventIdFilter>;
  /** Rows per month, for sizing a new month's filter. */
  expected: Map<string, number>;
}

export interface FlaggedIds {
  /** Per fact, the month filters that took ids, to save. */
  changed: Map<FactTable, Map<string, EventIdFilter>>;
  candidates: { fact: FactTable; eventId: string; month: string }[];
}

/**
 * What to stream per fact: the rows written since the coverage (every row on a full check),
 * against the stored month filters but those of months whose partition is new (their filters
 * are rebuilt from their rows). Read in the job's transaction, which holds the scope.
 */
export async function prepareDuplicateSearch(wh: PoolClient, scope: Scope): Promise<DuplicateSearch[]> {
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
export async function searchDuplicatesBeside(ctx: JobContext, searches: DuplicateSearch[]): Promise<FlaggedIds> {
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
    reader.release(true);
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

export async function saveCandidates(wh: PoolClient, flagged: FlaggedIds): Promise<void> {
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

/** Stores the month filters that took ids (all of them, and only them, after a full check). */
export async function saveFilters(wh: PoolClient, scope: Scope, flagged: FlaggedIds): Promise<void> {
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
