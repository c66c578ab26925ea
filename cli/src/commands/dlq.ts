import { createEventProducer, createPool, loadConfigOrExit, type Pool } from '@lambdamart/core';
import { type DeadLetterFilter, listDeadLetters, replayDeadLetters, showDeadLetter } from '@lambdamart/speed-layer';
import { type Command, InvalidArgumentError } from 'commander';
import { action, positiveInt } from '../action.ts';
import { formatTable } from '../table.ts';
import { parseDuration } from './generate.ts';

interface FilterFlags {
  topic?: string;
  reason?: string;
  since?: number;
  ids?: number[];
}

/** `12,15,40` -> [12, 15, 40]: dead letter ids as `dlq list` and `dlq show` print them. */
export function parseIds(value: string): number[] {
  const ids = value.split(',').map((id) => id.trim());
  if (ids.length === 0 || ids.some((id) => !/^\d{1,18}$/.test(id))) {
    throw new InvalidArgumentError('expected dead letter ids separated by commas, e.g. 12,15,40');
  }
  return ids.map(Number);
}

function filterOf(flags: FilterFlags): DeadLetterFilter {
  return {
    topic: flags.topic,
    reason: flags.reason,
    sinceSeconds: flags.since === undefined ? undefined : flags.since / 1000,
    ids: flags.ids,
  };
}

async function withRealtime<T>(use: (pool: Pool) => Promise<T>): Promise<T> {
  const pool = createPool(loadConfigOrExit().realtimeDatabaseUrl, { max: 2, application: 'lambdamart-dlq' });
  try {
    return await use(pool);
  } finally {
    await pool.end();
  }
}

const when = (d: Date | null) => (d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : '-');
const oneLine = (text: string | null, width: number) => {
  const flat = (text ?? '(none)').replace(/\s+/g, ' ');
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
};

function filterOptions(command: Command): Command {
  return command
    .option('--topic <topic>', 'only dead letters from this source topic')
    .option('--reason <text>', 'only reasons containing this text (case-insensitive)')
    .option('--since <age>', 'only dead letters saved within this long: 30m, 1h, 7d', parseDuration);
}

export function registerDlq(program: Command): void {
  const dlq = program.command('dlq').description('dead letters: see what the savers refused and why, and replay it after a fix');

  filterOptions(dlq.command('list').description('dead letters grouped by topic and reason, with counts and the newest example'))
    .option('--limit <n>', 'at most this many groups', positiveInt('a number of groups'), 100)
    .option('--json', 'print JSON instead of a table')
    .action(
      action(async (flags: FilterFlags & { limit: number; json?: boolean }) => {
        const groups = await withRealtime((pool) => listDeadLetters(pool, filterOf(flags), flags.limit));
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(groups, null, 2)}\n`);
          return;
        }
        if (groups.length === 0) {
          process.stdout.write('no dead letters match\n');
          return;
        }
        const rows = groups.map((g) => [
          String(g.count),
          String(g.pending),
          g.source_topic,
          oneLine(g.reason, 60),
          when(g.last_at),
          String(g.newest_id),
          oneLine(g.newest_payload, 40),
        ]);
        process.stdout.write(`${formatTable(['count', 'pending', 'topic', 'reason', 'newest', 'newest id', 'newest payload'], rows)}\n`);
        process.stdout.write('pending: not replayed yet. See one whole with `lambdamart dlq show ID`.\n');
      }),
    );

  dlq
    .command('show')
    .description('one dead letter, whole: source topic, partition and offset, key, reason, payload, replays')
    .argument('<id>', 'dead letter id (from dlq list)', (value) => parseIds(value)[0] as number)
    .option('--json', 'print JSON')
    .action(
      action(async (id: number, flags: { json?: boolean }) => {
        const letter = await withRealtime((pool) => showDeadLetter(pool, id));
        if (!letter) {
          process.stderr.write(`lambdamart: no dead letter with id ${id}\n`);
          return 1;
        }
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(letter, null, 2)}\n`);
          return;
        }
        const lines = [
          ['id', String(letter.dead_letter_id)],
          ['source', `${letter.source_topic} partition ${letter.source_partition} offset ${letter.source_offset}`],
          ['key', letter.message_key ?? '(none)'],
          ['saved at', when(letter.ingested_at)],
          ['reason', letter.reason],
          ['replayed', letter.replayed_at ? `${when(letter.replayed_at)} (${letter.replay_count} times)` : 'no'],
          ['payload', letter.payload ?? '(none kept)'],
        ];
        process.stdout.write(`${lines.map(([k, v]) => `${(k ?? '').padEnd(9)} ${v}`).join('\n')}\n`);
      }),
    );

  filterOptions(
    dlq
      .command('replay')
      .description('send dead letters back to their source topics, through the savers again (after a fix); each is saved once'),
  )
    .option('--ids <ids>', 'only these dead letters (comma-separated ids)', parseIds)
    .option('--again', 'with --ids: send them even if they were replayed before')
    .option('--dry-run', 'say what would be sent, send nothing')
    .action(
      action(async (flags: FilterFlags & { again?: boolean; dryRun?: boolean }) => {
        if (flags.again && !flags.ids) throw new InvalidArgumentError('--again needs --ids: name the dead letters to send again');
        if (!flags.ids && !flags.reason && !flags.topic && flags.since === undefined && !flags.dryRun) {
          throw new InvalidArgumentError('say what to replay: --reason TEXT, --ids, --topic or --since (or look first with --dry-run)');
        }
        const config = loadConfigOrExit();
        const producer = createEventProducer({ ...config.kafka, clientId: 'lambdamart-dlq' });
        await producer.connect();
        try {
          const report = await withRealtime((pool) =>
            replayDeadLetters(pool, producer, filterOf(flags), {
              dryRun: flags.dryRun,
              again: flags.again,
              onProgress: (sent) => process.stderr.write(`\rreplayed ${sent}`),
            }),
          );
          if (report.sent > 0 && !report.dryRun) process.stderr.write('\n');
          const verb = report.dryRun ? 'would replay' : 'replayed';
          const topics = Object.entries(report.byTopic).map(([topic, n]) => `${topic} ${n}`);
          process.stdout.write(`${verb} ${report.sent} dead letters${topics.length ? ` (${topics.join(', ')})` : ''}\n`);
          if (report.alreadyReplayed)
            process.stdout.write(`skipped ${report.alreadyReplayed} already replayed (send again: --ids ... --again)\n`);
          if (report.withoutPayload) process.stdout.write(`skipped ${report.withoutPayload} with no payload kept\n`);
        } finally {
          await producer.disconnect();
        }
      }),
    );
}
