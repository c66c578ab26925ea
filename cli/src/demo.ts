/**
 * The main job behind `npm start`: the stack, then the whole pipeline side by side in one process
 * (generator -> Kafka -> savers -> realtime database -> batch scheduler -> warehouse), with a
 * status line every few seconds that counts events through each layer and says where to look.
 * Ctrl-C (or SIGTERM) stops the generator first, waits for the savers to read every topic to its
 * end, lets a running batch job finish or roll back, then accounts for every generated event
 * (demo-summary.ts): a difference is printed as a mismatch and the exit code is 1.
 */

import { runJobs, type Scheduler, startScheduler } from '@lambdamart/batch-layer';
import { type Config, createLogger, createPool, type Pool } from '@lambdamart/core';
import { runGenerator } from '@lambdamart/generators';
import { type RunningServer, startServer } from '@lambdamart/serving-api';
import { startSavers } from '@lambdamart/speed-layer';
import { onStopSignals } from './action.ts';
import { type BatchJobTrigger, batchJobTrigger } from './api-jobs.ts';
import { statusLine } from './demo-status-line.ts';
import { countRealtime, countWarehouse, reconcile, saverLag, topicEnds } from './demo-summary.ts';
import { stackUp } from './stack.ts';

export interface DemoOptions {
  /** Events per second the generator sends (default GENERATOR_RATE). */
  rate?: number;
  /** Stop by itself after this long (default: run until Ctrl-C). */
  durationMs?: number;
  /** Seconds between status lines. */
  statusEverySeconds?: number;
}

/** Runs until Ctrl-C or `durationMs`; resolves to the exit code (1 when the closing account does not add up). */
export async function runDemo(config: Config, options: DemoOptions = {}): Promise<number> {
  await stackUp(config);
  // The layers log warnings only, so the terminal shows the status lines; LOG_LEVEL=debug shows all.
  const layerLogLevel = config.logLevel === 'debug' || config.logLevel === 'trace' ? config.logLevel : 'warn';
  const savers = await startSavers(config, { logger: createLogger('speed-layer', layerLogLevel) });
  // Savers that gave up (their consumer kept crashing) stop the demo: said plainly, exit code 1.
  let saversExited: string | null = null;
  void savers.failed.then((error) => {
    saversExited = error.message;
  });
  // Started after the first batch run (below), so that a cron tick cannot collide with it.
  let scheduler: Scheduler | null = null;
  // Stopped before the last batch run, and again on the way out when the demo ends early: once.
  let schedulerStopped: Promise<void> | null = null;
  const stopScheduler = () => {
    schedulerStopped ??= scheduler?.stop() ?? Promise.resolve();
    return schedulerStopped;
  };
  // The API beside the pipeline; a port already taken leaves the demo running without it.
  let api: RunningServer | null = null;
  let jobTrigger: BatchJobTrigger | null = batchJobTrigger(config, createLogger('batch-layer', layerLogLevel));
  try {
    api = await startServer({ config, logger: createLogger('serving-api', layerLogLevel), jobTrigger });
  } catch (error) {
    process.stdout.write(`API not started on port ${config.api.port}: ${(error as Error).message} (set API_PORT to another port)\n`);
    await jobTrigger.stop();
    jobTrigger = null;
  }
  const realtime = createPool(config.realtimeDatabaseUrl, { max: 1, application: 'lambdamart-demo' });
  const warehouse = createPool(config.warehouseDatabaseUrl, { max: 1, application: 'lambdamart-demo' });
  const out = (line: string) => process.stdout.write(`${line}\n`);
  // Messages left from an earlier run are saved first, so that the closing account is this run's alone.
  const cleanStart = await waitForSavers(config, realtime, savers.group, out);
  // A batch run first, so that the warehouse holds every earlier event and the closing account is this run's.
  out('bringing the warehouse up to date (a batch run)…');
  await runBatch(config, layerLogLevel, out);
  scheduler = await startScheduler(config, { logger: createLogger('batch-layer', layerLogLevel), runAtStart: false });
  const before = await countRealtime(realtime);
  const warehouseBefore = await countWarehouse(warehouse);
  // Kafka's count too, to tell another producer's messages apart (null: not readable, the line is left out).
  const endsBefore = await topicEnds(config).catch(() => null);
  const stop = new AbortController();
  const rate = options.rate ?? config.generator.rate;
  let sent = 0;
  const generator = runGenerator(
    config,
    {
      rate,
      durationMs: options.durationMs,
      logger: createLogger('generator', layerLogLevel),
      onProgress: (p) => (sent = p.sent - p.byKind.catalog),
    },
    stop.signal,
  );

  out('');
  out(`Pipeline running: generator at ${rate} events/s -> Kafka -> savers -> realtime DB; batch on "${config.batchCron}" -> warehouse.`);
  out(`  Saver health and metrics: http://127.0.0.1:${savers.metricsPort}/health  http://127.0.0.1:${savers.metricsPort}/metrics`);
  out('  Realtime data:  psql postgres://lambdamart:lambdamart@127.0.0.1:5432/lambdamart_realtime  (transactions, speed_minute_metrics)');
  out('  Warehouse:      psql postgres://lambdamart:lambdamart@127.0.0.1:5432/lambdamart_warehouse  (fact_sales, rfm_analysis, job_runs)');
  out('  Batch runs:     npx lambdamart batch list');
  if (api) {
    out(`  REST API:       ${api.urls.api}/kpis  (Swagger UI ${api.urls.docs}, OpenAPI ${api.urls.openapi})`);
  }
  out('Ctrl-C stops it cleanly.');

  const takeStatus = statusLine({
    config,
    realtime,
    warehouse,
    group: savers.group,
    health: () => savers.health(),
    exited: () => saversExited,
    // This run's events (catalog records apart), as the closing account counts them.
    sent: () => sent,
    since: { realtime: before.saved, deadLetters: before.deadLetters, warehouse: warehouseBefore.facts },
  });
  const report = async () => {
    out((await takeStatus()).text);
    if (saversExited && !stop.signal.aborted) {
      out('the savers exited: stopping the generator (nothing more would be saved)');
      stop.abort();
    }
  };
  const timer = setInterval(() => void report(), (options.statusEverySeconds ?? 10) * 1000);

  const releaseSignals = onStopSignals(() => {
    out('stopping: generator first, then the savers commit and a running batch job finishes…');
    stop.abort();
  });
  let code = 0;
  try {
    const summary = await generator;
    out(`generator stopped (${summary.stoppedBy}): ${summary.sent} events acknowledged by Kafka`);
    const caughtUp = saversExited ? false : await waitForSavers(config, realtime, savers.group, out);
    clearInterval(timer);
    await report();
    // The last batch run, after the scheduler's (if one runs) has finished: the warehouse then holds every saved event.
    await stopScheduler();
    out('the last batch run…');
    const batchOk = await runBatch(config, layerLogLevel, out);
    const account = reconcile(
      summary,
      before,
      await countRealtime(realtime),
      { before: warehouseBefore, after: await countWarehouse(warehouse) },
      endsBefore === null
        ? undefined
        : await topicEnds(config).then(
            (ends) => ends - endsBefore,
            () => undefined,
          ),
    );
    out('');
    out(account.table);
    if (!cleanStart) {
      out('(the savers were still reading messages of an earlier run when this one started: the account includes them)');
    }
    const problems = [
      ...(saversExited ? [`the savers exited: ${saversExited}`] : []),
      ...(!caughtUp && !saversExited
        ? ['the savers did not read every topic to its end within 60 s (see their /health); the account is incomplete']
        : []),
      ...(batchOk ? [] : ['the last batch run failed (npx lambdamart batch list); the warehouse lines are incomplete']),
      ...(cleanStart ? account.mismatches : []),
    ];
    for (const problem of problems) out(`MISMATCH: ${problem}`);
    if (problems.length > 0) code = 1;
    else
      out(
        'Every generated event is accounted for: saved once (in the warehouse too, revenue to the cent), or dead-lettered with its reason (npx lambdamart dlq list).',
      );
  } finally {
    clearInterval(timer);
    await api?.close();
    await jobTrigger?.stop();
    await savers.stop();
    await stopScheduler();
    await realtime.end();
    await warehouse.end();
    out('Pipeline stopped. The stack keeps running: npx lambdamart stack down stops it.');
    releaseSignals();
  }
  return code;
}

/** Runs every batch job once (waiting for a run in progress), a line per job; false when one failed. */
async function runBatch(config: Config, logLevel: Config['logLevel'], out: (line: string) => void): Promise<boolean> {
  try {
    const reports = await runJobs(config, 'all', { triggeredBy: 'demo', wait: true, logger: createLogger('batch-layer', logLevel) });
    const failed = reports.filter((r) => r.status !== 'succeeded');
    out(`  batch run: ${reports.map((r) => `${r.job} ${r.status}`).join(', ')}`);
    for (const r of failed) out(`  ${r.job} ${r.status}: ${r.error ?? ''}`);
    return failed.length === 0;
  } catch (error) {
    out(`  batch run failed: ${(error as Error).message}`);
    return false;
  }
}

/** Waits (60 s at most) until the savers have committed every message of their topics; says so every 5 s. */
async function waitForSavers(config: Config, realtime: Pool, group: string, out: (line: string) => void): Promise<boolean> {
  const until = Date.now() + 60_000;
  let said = 0;
  for (;;) {
    const lag = await saverLag(config, realtime, group).catch(() => Number.NaN);
    if (lag === 0) return true;
    if (Date.now() > until) return false;
    if (Date.now() - said > 5_000) {
      out(`waiting for the savers to catch up: ${Number.isNaN(lag) ? 'lag unknown' : `${lag} messages behind`}`);
      said = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
