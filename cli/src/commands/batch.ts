import { type AnalyticsEngine, type JobReport, jobNames, listJobs, purgeArchived, runJobs, startScheduler } from '@lambdamart/batch-layer';
import { createLogger, loadConfigOrExit } from '@lambdamart/core';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { action, positiveInt } from '../action.ts';
import { formatTable } from '../table.ts';

interface RunFlags {
  fullRefresh?: boolean;
  from?: string;
  to?: string;
  engine: AnalyticsEngine;
  lookback?: number;
  wait?: boolean;
}

function isoDate(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
    throw new InvalidArgumentError('expected a date YYYY-MM-DD');
  }
  return value;
}

/** '30d' -> 30: an age in days, at least one (0d would purge what the next batch runs still read). */
function days(value: string): number {
  const match = /^(\d+)d$/.exec(value);
  if (!match) throw new InvalidArgumentError('expected an age in days such as 30d');
  if (Number(match[1]) < 1) throw new InvalidArgumentError('expected an age of at least 1d, such as 30d');
  return Number(match[1]);
}

function progressLine(report: JobReport): string {
  const seconds = (report.durationMs / 1000).toFixed(1);
  if (report.status === 'failed') return `${report.job.padEnd(10)} failed after ${seconds}s: ${report.error ?? ''}`;
  if (report.status === 'skipped') return `${report.job.padEnd(10)} ${report.error ?? 'skipped'}`;
  const skipped = report.details?.skipped ? ` (skipped: ${report.details.skipped})` : '';
  return `${report.job.padEnd(10)} ok  rows in ${report.rowsIn}  rows out ${report.rowsOut}  ${seconds}s${skipped}`;
}

const when = (d: Date | null | undefined) => (d ? d.toISOString().replace('.000Z', 'Z') : '-');

export function registerBatch(program: Command): void {
  const batch = program.command('batch').description('batch layer: SCD2 dimensions, facts, analytics and data-quality checks');

  batch
    .command('run')
    .description(`run batch jobs in dependency order (default all: ${jobNames.join(', ')})`)
    .argument('[jobs...]', `jobs to run: ${jobNames.join(', ')}`)
    .option('--full-refresh', 'rebuild from the whole raw history instead of the rows since the watermark')
    .option('--from <date>', 'reprocess events from this date (YYYY-MM-DD, UTC)', isoDate)
    .option('--to <date>', 'reprocess events up to this date, inclusive; also the analytics "as of" date', isoDate)
    .addOption(new Option('--engine <engine>', 'where the analytics run').choices(['duckdb', 'postgres']).default('duckdb'))
    .option('--lookback <minutes>', 'how far before the watermark to look again for late rows (default 10)', positiveInt('minutes'))
    .option('--wait', 'wait for a running job to finish instead of refusing')
    .action(
      action(async (names: string[], flags: RunFlags) => {
        for (const name of names) {
          if (!jobNames.includes(name)) throw new InvalidArgumentError(`unknown job "${name}": expected one of ${jobNames.join(', ')}`);
        }
        const config = loadConfigOrExit();
        await runJobs(config, names.length ? names : 'all', {
          fullRefresh: flags.fullRefresh,
          from: flags.from,
          to: flags.to,
          engine: flags.engine,
          lookbackMinutes: flags.lookback,
          wait: flags.wait,
          triggeredBy: 'cli',
          // On a terminal the progress lines say it all; piped, the structured logs go along.
          logger: createLogger('batch-layer', process.stdout.isTTY ? 'warn' : config.logLevel),
          onJobFinished: (report) => process.stdout.write(`${progressLine(report)}\n`),
        });
      }),
    );

  batch
    .command('list')
    .description('the jobs, their dependencies, last run, its status and the watermark')
    .action(
      action(async () => {
        const statuses = await listJobs(loadConfigOrExit());
        const rows = statuses.map((s) => [
          s.job,
          s.dependsOn.join(', ') || '-',
          when(s.lastRun?.startedAt),
          s.lastRun?.status ?? 'never run',
          s.lastRun ? `${s.lastRun.rowsIn ?? '-'} / ${s.lastRun.rowsOut ?? '-'}` : '-',
          when(s.watermark),
          s.lastRun?.error ?? '',
        ]);
        process.stdout.write(`${formatTable(['job', 'depends on', 'last run', 'status', 'rows in / out', 'watermark', 'error'], rows)}\n`);
      }),
    );

  batch
    .command('schedule')
    .description('run every job on BATCH_CRON until stopped (Ctrl-C lets a running job finish)')
    .option('--no-run-at-start', 'wait for the first cron tick instead of running at once')
    .action(
      action(async (flags: { runAtStart: boolean }) => {
        const config = loadConfigOrExit();
        const scheduler = await startScheduler(config, { runAtStart: flags.runAtStart });
        await new Promise<void>((resolve) => {
          const stop = () => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            void scheduler.stop().then(resolve);
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
      }),
    );

  batch
    .command('purge')
    .description(
      'delete raw events from the realtime database that are older than the age given, archived in the lake and loaded into the warehouse',
    )
    .requiredOption('--older-than <age>', 'minimum age, in days (e.g. 30d)', days)
    .action(
      action(async (flags: { olderThan: number }) => {
        const result = await purgeArchived(loadConfigOrExit(), { olderThanDays: flags.olderThan });
        if (!result.cutoff) {
          process.stdout.write('nothing purged: archive, dimensions and facts have not all run yet (run `lambdamart batch run`)\n');
          return;
        }
        const counts = Object.entries(result.deleted).map(([table, n]) => `${table} ${n}`);
        process.stdout.write(`purged rows ingested before ${result.cutoff.toISOString()}: ${counts.join(', ')}\n`);
        for (const [table, dates] of Object.entries(result.skipped)) {
          process.stdout.write(`kept ${table} of ${dates.join(', ')}: the lake has no Parquet files for those event dates\n`);
        }
      }),
    );
}
