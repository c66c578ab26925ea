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
import { loadModel } from '@lambdamart/warehouse';
import type { JobContext, JobDefinition } from '../../runner/job.ts';
import { type Check, type CheckFailure, DataQualityError, listChecks, runCheck } from '../../shared/checks.ts';
import { copyQueryToTable } from '../../shared/copy.ts';
import { createStagingTables, StagingTables } from '../../shared/staging.ts';
import { defaultLookbackMinutes } from '../../shared/window.ts';
import { prepareDuplicateSearch, saveCandidates, saveFilters, searchDuplicatesBeside } from './duplicate-search.ts';
import { planScope, recordCoverage, thirtyTwoBitXids } from './scope.ts';

const revenueWindowMs = 24 * 3600_000;

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
    await saveFilters(ctx.wh, scope, flagged);
    await recordCoverage(ctx.wh, scope);
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
async function checksByInput(): Promise<{ withCandidates: Check[]; others: Check[] }> {
  const withCandidates: Check[] = [];
  const others: Check[] = [];
  for (const { check, sql } of await listChecks()) (sql.includes('quality.event_id_candidates') ? withCandidates : others).push(check);
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
