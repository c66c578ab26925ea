/**
 * npm run grafana:check-sql -- --events 1000000: builds a realtime database and a warehouse of that
 * many synthetic events (temporary databases, dropped at the end), then runs every dashboard
 * panel's SQL as Grafana would (All selected, then a selection of each filter) and prints each
 * query's median time of 3 runs. Exits 1 when a query fails, returns no rows (All), lacks a
 * column its panel reads, or takes more than --limit-ms (default 500). --last-hour-share 0.5 puts
 * half the events in the last hour (default 2%), for the real time dashboard at a busy hour.
 */
import { parseArgs } from 'node:util';
import { checkAllPanels } from './check.ts';
import { buildWarehouse, synthesiseEvents, withDashboardDatabases } from './data.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    'limit-ms': { type: 'string', default: '500' },
    // The share of the events in the last hour (the real time dashboard's range).
    'last-hour-share': { type: 'string', default: '0.02' },
  },
});
const events = Number(values.events);
const limitMs = Number(values['limit-ms']);
if (!Number.isInteger(events) || events < 1000) throw new Error(`--events ${values.events}: expected a whole number of at least 1000`);

const seconds = (started: number) => ((Date.now() - started) / 1000).toFixed(1);
let failed = false;
await withDashboardDatabases('grafana_sql', async ({ config, rt, wh }) => {
  let started = Date.now();
  process.stderr.write(`synthesising ${events.toLocaleString('en')} events...\n`);
  await synthesiseEvents(rt, events, { lastHourShare: Number(values['last-hour-share']) });
  process.stderr.write(`synthesised in ${seconds(started)} s; batch jobs...\n`);
  started = Date.now();
  await buildWarehouse(config, (r) => process.stderr.write(`  ${r.job.padEnd(10)} ${(r.durationMs / 1000).toFixed(1)} s\n`));
  await wh.query('vacuum analyze');
  process.stderr.write(`warehouse built in ${seconds(started)} s; running the panels...\n`);
  const { runs, problems } = await checkAllPanels({ rt, wh }, { times: 3 });
  for (const run of runs) {
    const slow = run.ms > limitMs ? '  SLOW' : '';
    process.stdout.write(
      `${run.ms.toFixed(1).padStart(8)} ms  ${String(run.rows.length).padStart(5)} rows  ${run.label.padEnd(14)} ${run.query.dashboard} ${run.query.panel}${slow}\n`,
    );
  }
  const slowest = runs.reduce((a, b) => (b.ms > a.ms ? b : a));
  process.stdout.write(
    `\n${runs.length} queries at ${events.toLocaleString('en')} events; slowest ${slowest.ms.toFixed(1)} ms: ${slowest.query.dashboard} ${slowest.query.panel} (${slowest.label})\n`,
  );
  const tooSlow = runs.filter((r) => r.ms > limitMs);
  for (const p of [
    ...problems,
    ...tooSlow.map((r) => `${r.query.dashboard} ${r.query.panel} (${r.label}) took ${r.ms.toFixed(1)} ms > ${limitMs} ms`),
  ]) {
    process.stdout.write(`PROBLEM ${p}\n`);
    failed = true;
  }
});
process.exit(failed ? 1 : 0);
