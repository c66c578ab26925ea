import { createLogger, loadConfigOrExit } from '@lambdamart/core';
import {
  defaultWorkers,
  GeneratorDefaults,
  type GeneratorSummary,
  parseMix,
  type RunGeneratorOptions,
  runGenerator,
  Shards,
} from '@lambdamart/generators';
import { SingleBar } from 'cli-progress';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { action, onStopSignals, positiveInt } from '../action.ts';

interface GenerateFlags {
  /** Undefined when not given: 500/s for a live run, max for a history (--start/--days). */
  rate?: number | 'max';
  duration?: number;
  seed: number;
  mix?: RunGeneratorOptions['mix'];
  users: number;
  products: number;
  start?: number;
  days?: number;
  perDay: number;
  count?: number;
  out?: string;
  badRate: number;
  producers: number;
  workers?: number;
  batchSize: number;
  compression: 'none' | 'gzip';
  topicSuffix?: string;
  json?: boolean;
}

/** Events per second of a live run when --rate is not given. */
export const LiveRate = 500;

/** A history (--days) goes as fast as the broker takes it unless --rate says otherwise; a live run at 500/s. */
export function sendRate(flags: { rate?: number | 'max'; days?: number }): number | 'max' {
  return flags.rate ?? (flags.days !== undefined ? 'max' : LiveRate);
}

/** `60s`, `5m`, `2h`, `1d`, `500ms` or a bare number of seconds, as milliseconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError('expected a duration such as 60s, 5m or 2h');
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'];
  const ms = Number(match[1]) * unit;
  if (ms <= 0) throw new InvalidArgumentError('expected a duration above zero');
  return ms;
}

export function parseRate(value: string): number | 'max' {
  if (value === 'max') return 'max';
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected events per second (a number > 0) or max');
  return n;
}

/** A UTC date (2025-11-01) or timestamp (2025-11-01T08:00:00Z), as epoch milliseconds. */
export function parseStart(value: string): number {
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value;
  const time = Date.parse(iso);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(time)) throw new InvalidArgumentError('expected a date such as 2025-11-01');
  return time;
}

/** --workers: 1 to the generator's number of shards (more could have nothing to do). */
export function parseWorkers(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > Shards) throw new InvalidArgumentError(`expected a whole number from 1 to ${Shards}`);
  return n;
}

function parseFraction(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('expected a fraction between 0 and 1, e.g. 0.01');
  return n;
}

function parseSeed(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new InvalidArgumentError('expected a whole number between 0 and 4294967295');
  return n;
}

function mixFlag(value: string) {
  try {
    return parseMix(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function counts(s: GeneratorSummary): string {
  const { view, cart, transaction, catalog } = s.byKind;
  return `views ${view}, carts ${cart}, transactions ${transaction}, catalog ${catalog}, invalid ${s.invalidTotal}, unusual ${s.unusualTotal}`;
}

/** A progress bar on a terminal (by time when the run has a duration), a log line every 5 s otherwise. */
function progressReporter(flags: GenerateFlags) {
  if (flags.json) return { update: (_: GeneratorSummary) => undefined, stop: () => undefined };
  if (!process.stderr.isTTY) {
    let last = 0;
    return {
      update(s: GeneratorSummary) {
        if (s.elapsedMs - last < 5000) return;
        last = s.elapsedMs;
        process.stderr.write(`generate: ${s.sent} events sent, ${Math.round(s.eventsPerSecond)}/s (${counts(s)})\n`);
      },
      stop: () => undefined,
    };
  }
  const timed = flags.duration !== undefined;
  const bar = new SingleBar({
    format: timed ? 'generate [{bar}] {percentage}% | {sent} events | {rate}/s | {detail}' : 'generate {sent} events | {rate}/s | {detail}',
    hideCursor: true,
    stream: process.stderr,
  });
  bar.start(timed ? Math.round((flags.duration as number) / 1000) : 1, 0, { sent: 0, rate: 0, detail: '' });
  return {
    update(s: GeneratorSummary) {
      bar.update(timed ? Math.min(Math.round(s.elapsedMs / 1000), bar.getTotal()) : 0, {
        sent: s.sent,
        rate: Math.round(s.eventsPerSecond),
        detail: counts(s),
      });
    },
    stop: () => bar.stop(),
  };
}

function printSummary(s: GeneratorSummary, flags: GenerateFlags): void {
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(s)}\n`);
    return;
  }
  const byKind = (counts: Record<string, number>) =>
    Object.entries(counts)
      .filter(([, n]) => n > 0)
      .map(([kind, n]) => `${kind} ${n}`)
      .join(', ');
  process.stdout.write(
    [
      `sent ${s.sent} events in ${(s.elapsedMs / 1000).toFixed(1)} s (${Math.round(s.eventsPerSecond)}/s, ${(s.bytes / 1e6).toFixed(1)} MB)${flags.out ? ` to ${flags.out}` : ''}`,
      `  ${counts(s)}`,
      ...(s.invalidTotal > 0 ? [`  invalid on purpose (the speed layer dead-letters them): ${byKind(s.invalid)}`] : []),
      ...(s.unusualTotal > 0 ? [`  valid but unusual on purpose (saved, not dead-lettered): ${byKind(s.unusual)}`] : []),
      `  stopped by: ${s.stoppedBy}`,
      '',
    ].join('\n'),
  );
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('send realistic synthetic events (catalog, views, carts, transactions) to Kafka, or to a JSON-lines file')
    .addOption(
      new Option('--rate <n|max>', 'events per second, or max for as fast as the broker takes them')
        .default(undefined, `${LiveRate}; max with --start/--days`)
        .argParser(parseRate),
    )
    .addOption(new Option('--duration <time>', 'stop after this long: 60s, 5m, 2h (default: until Ctrl-C)').argParser(parseDuration))
    .addOption(
      new Option('--seed <n>', 'the same seed and flags give the same events, ids included')
        .default(GeneratorDefaults.seed)
        .argParser(parseSeed),
    )
    .addOption(new Option('--mix <weights>', 'event mix, e.g. view=60,cart=30,transaction=10').argParser(mixFlag))
    .addOption(new Option('--users <n>', 'customers').default(GeneratorDefaults.users).argParser(positiveInt('--users')))
    .addOption(
      new Option('--products <n>', 'products in the catalog').default(GeneratorDefaults.products).argParser(positiveInt('--products')),
    )
    .addOption(new Option('--start <date>', 'event time of the first event (UTC), e.g. 2025-11-01 (default: now)').argParser(parseStart))
    .addOption(
      new Option('--days <n>', 'generate this many days of history from --start, as fast as possible').argParser(positiveInt('--days')),
    )
    .addOption(
      new Option('--per-day <n>', 'history: user events per day of event time')
        .default(GeneratorDefaults.eventsPerDay)
        .argParser(positiveInt('--per-day')),
    )
    .addOption(new Option('--count <n>', 'stop after this many user events').argParser(positiveInt('--count')))
    .option('--out <file>', 'write JSON lines to this file instead of Kafka')
    .addOption(new Option('--bad-rate <fraction>', 'mix in deliberately bad events, e.g. 0.01').default(0).argParser(parseFraction))
    .addOption(
      new Option(
        '--workers <n>',
        `threads that make, encode and send the events, the same events for any number (default: one per core, ${defaultWorkers('max')} here, at --rate max or with --days; one per 25,000 events/s at a set rate)`,
      ).argParser(parseWorkers),
    )
    .addOption(
      new Option('--producers <n>', 'Kafka producers side by side, in each worker').default(2).argParser(positiveInt('--producers')),
    )
    .addOption(
      new Option('--batch-size <n>', 'messages per produce request (at most 10000)').default(5000).argParser(positiveInt('--batch-size')),
    )
    .addOption(new Option('--compression <codec>', 'message compression').choices(['none', 'gzip']).default('none'))
    .option('--topic-suffix <suffix>', 'write to <topic><suffix> instead of the real topics (tests, trials)')
    .option('--json', 'print the summary as one JSON line')
    .action(
      action(async (flags: GenerateFlags) => {
        if (flags.days !== undefined && flags.start === undefined) throw new InvalidArgumentError('--days needs --start');
        if (flags.batchSize > 10_000)
          throw new InvalidArgumentError('--batch-size: at most 10000, so a request stays under the broker limit');
        const config = loadConfigOrExit();
        const controller = new AbortController();
        // First signal: stop generating and flush what is in flight; a later one gives up at once.
        const releaseSignals = onStopSignals(() => controller.abort());
        const progress = progressReporter(flags);
        try {
          const suffix = flags.topicSuffix;
          const summary = await runGenerator(
            config,
            {
              rate: sendRate(flags),
              durationMs: flags.duration,
              seed: flags.seed,
              mix: flags.mix,
              users: flags.users,
              products: flags.products,
              start: flags.start,
              days: flags.days,
              eventsPerDay: flags.perDay,
              count: flags.count,
              out: flags.out,
              badRate: flags.badRate,
              producers: flags.producers,
              workers: flags.workers,
              batchSize: flags.batchSize,
              compression: flags.compression,
              topicFor: suffix === undefined ? undefined : (topic) => `${topic}${suffix}`,
              onProgress: (s) => progress.update(s),
              logger: createLogger('generator', 'warn'),
            },
            controller.signal,
          );
          progress.stop();
          printSummary(summary, flags);
        } finally {
          progress.stop();
          releaseSignals();
        }
      }),
    );
}
