import { createWriteStream } from 'node:fs';
import { createEventProducer, createLogger, LambdamartError, loadConfigOrExit } from '@lambdamart/core';
import {
  describePlan,
  type EventSink,
  type ImportProgress,
  type ImportSummary,
  type ImportType,
  ImportTypes,
  importCsv,
  jsonlSink,
  kafkaSink,
  parseMapOption,
  planImport,
} from '@lambdamart/generators';
import { SingleBar } from 'cli-progress';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { action } from '../action.ts';

interface ImportFlags {
  type: ImportType;
  map?: [string, string][];
  rejects?: string;
  products?: string;
  out?: string;
  dryRun?: boolean;
  topicSuffix?: string;
  json?: boolean;
}

function mapFlag(value: string): [string, string][] {
  try {
    return parseMapOption(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** A bar by bytes on a terminal; a log line every 5 s otherwise. */
function progressReporter(quiet: boolean) {
  if (quiet) return { update: (_: ImportProgress) => undefined, stop: () => undefined };
  if (!process.stderr.isTTY) {
    let last = 0;
    return {
      update(p: ImportProgress) {
        const now = Date.now();
        if (now - last < 5000) return;
        last = now;
        process.stderr.write(
          p.pass === 'scan'
            ? `import: first pass (hash, row counts) ${mb(p.bytesRead)} of ${mb(p.totalBytes)}\n`
            : `import: ${mb(p.bytesRead)} of ${mb(p.totalBytes)}, ${p.rows} rows, ${p.sent} sent, ${p.rejected} rejected\n`,
        );
      },
      stop: () => undefined,
    };
  }
  const bar = new SingleBar({
    format: 'import {pass} [{bar}] {percentage}% | {read} of {size} | {rows} rows | {sent} sent | {rejected} rejected',
    hideCursor: true,
    stream: process.stderr,
  });
  let started = false;
  return {
    update(p: ImportProgress) {
      if (!started) {
        bar.start(p.totalBytes, 0, { pass: '', read: '', size: mb(p.totalBytes), rows: 0, sent: 0, rejected: 0 });
        started = true;
      }
      bar.update(p.bytesRead, {
        pass: p.pass === 'scan' ? '1/2' : '2/2',
        read: mb(p.bytesRead),
        size: mb(p.totalBytes),
        rows: p.rows,
        sent: p.sent,
        rejected: p.rejected,
      });
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

function printSummary(s: ImportSummary, flags: ImportFlags): void {
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(s)}\n`);
    return;
  }
  const reasons = Object.entries(s.reasons)
    .sort((a, b) => b[1] - a[1])
    .map(([field, n]) => `${field} ${n}`)
    .join(', ');
  process.stdout.write(
    [
      `imported ${s.rows} rows of ${mb(s.totalBytes)} in ${(s.elapsedMs / 1000).toFixed(1)} s: ${s.sent} events sent${flags.out ? ` to ${flags.out}` : ''}, ${s.rejected} rows rejected`,
      ...(s.catalogSent > 0
        ? [
            `  with ${s.catalogSent} catalog record${s.catalogSent === 1 ? '' : 's'}, undated ones dated from the earliest sale${s.earliestSale ? ` (${s.earliestSale})` : ''}`,
          ]
        : []),
      ...(s.rejected > 0 ? [`  rejects (line, reason, record): ${s.rejectsFile}${reasons ? ` (${reasons})` : ''}`] : []),
      '',
    ].join('\n'),
  );
}

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('load a CSV as events: detect its layout, validate every row, send the valid ones, write the rejects with line and reason')
    .argument('<file>', 'the CSV file')
    .addOption(new Option('--type <type>', 'what the rows are').choices(ImportTypes).makeOptionMandatory())
    .addOption(new Option('--map <column=field,...>', 'map columns (header names or 1-based numbers) to fields').argParser(mapFlag))
    .option('--rejects <file>', 'where rejected rows go (default: <file>.rejects.csv)')
    .option(
      '--products <file>',
      'transactions: a products CSV, sent as catalog records (undated rows dated from the earliest sale) and pricing basket-style files (Purchases.csv with Products_list.csv)',
    )
    .option('--out <file>', 'write JSON lines to this file instead of Kafka')
    .option('--dry-run', 'print the detected layout and mapping, send nothing')
    .option('--topic-suffix <suffix>', 'write to <topic><suffix> instead of the real topics (tests, trials)')
    .option('--json', 'print the summary as one JSON line')
    .action(
      action(async (file: string, flags: ImportFlags) => {
        const plan = await planImport(file, flags.type, flags.map ?? []).catch((error: Error) => {
          if (error instanceof LambdamartError) throw error;
          const message = error.message.startsWith('ENOENT') ? `${file}: no such file` : error.message;
          throw new LambdamartError('LM_ERR_IMPORT_FILE_UNREADABLE', message, { cause: error });
        });
        if (!flags.json) process.stdout.write(`${describePlan(plan).join('\n')}\n`);
        if (flags.dryRun) return 0;

        const config = loadConfigOrExit();
        const controller = new AbortController();
        const stop = () => controller.abort();
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        const progress = progressReporter(Boolean(flags.json));
        let sink: EventSink;
        let close: () => Promise<void>;
        if (flags.out) {
          const stream = createWriteStream(flags.out);
          sink = jsonlSink(stream);
          close = () => new Promise<void>((resolve) => stream.end(resolve));
        } else {
          const producer = createEventProducer({
            ...config.kafka,
            clientId: `${config.kafka.clientId}-import`,
            logger: createLogger('import', 'warn'),
            idempotent: true,
          });
          await producer.connect();
          const suffix = flags.topicSuffix;
          sink = kafkaSink([producer], { topicFor: suffix === undefined ? undefined : (topic) => `${topic}${suffix}` });
          close = () => producer.disconnect();
        }
        try {
          const summary = await importCsv(plan, sink, {
            type: flags.type,
            map: flags.map,
            rejectsFile: flags.rejects ?? `${file}.rejects.csv`,
            productsFile: flags.products,
            signal: controller.signal,
            onProgress: (p) => progress.update(p),
          });
          progress.stop();
          printSummary(summary, flags);
        } finally {
          progress.stop();
          await close();
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
      }),
    );
}
