/**
 * `npm run bench:kafka`: kafkajs (the baseline, what we run today) against @platformatic/kafka on
 * our own events: the generator's output with its keys, the dead-letter header set on every
 * message, snappy (kafkajs through core's codecs), idempotent producer with acks=all, consumer
 * groups. Both clients in the same run on the shared broker, on topics of this run's own (deleted
 * at the end). Several rounds, alternating which client goes first, each phase in a fresh process
 * (its own RSS); the medians are compared.
 *
 *   flock /tmp/lambdamart-bench.lock npm run bench:kafka [-- --events 200000 --rounds 3 --compression snappy|none]
 *
 * Ends with one JSON line (DESIGN.md, "Benchmarks"): value = @platformatic/kafka's produce rate,
 * baseline = kafkajs's, plus the consume figures.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '@lambdamart/core';
import { generatorTopicsWithSuffix } from '@lambdamart/generators/testing';
import { createTestTopics, deleteTestTopics } from '@lambdamart/test-helpers';
import type { ClientName, Phase, PhaseResult } from './kafka-run.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '3' },
    compression: { type: 'string', default: 'snappy' },
    'batch-size': { type: 'string', default: '5000' },
    // One produce request at a time: @platformatic/kafka 1.x's idempotent producer advances its
    // sequence numbers only when a response arrives, so two sends in flight get the same sequence
    // and the broker refuses the second (OUT_OF_ORDER_SEQUENCE_NUMBER). kafkajs gains nothing from
    // more (one in flight per broker when idempotent).
    'in-flight': { type: 'string', default: '1' },
  },
});
const events = Number(args.events);
const rounds = Number(args.rounds);
if (!Number.isInteger(events) || events < 1000) throw new Error(`--events must be an integer >= 1000, got '${args.events}'`);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got '${args.rounds}'`);
if (args.compression !== 'snappy' && args.compression !== 'none') {
  throw new Error(`--compression must be snappy or none, got '${args.compression}'`);
}
const config = loadConfigOrExit();
const log = (line: string) => process.stderr.write(`[bench:kafka] ${line}\n`);
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const CLIENTS: ClientName[] = ['kafkajs', 'platformatic'];
const LABEL: Record<ClientName, string> = { kafkajs: 'kafkajs 2.2.4', platformatic: '@platformatic/kafka 1.x' };

function runPhase(client: ClientName, phase: Phase, renames: Record<string, string>): Promise<PhaseResult> {
  const script = resolve(import.meta.dirname, 'kafka-run.ts');
  const topics = Object.entries(renames)
    .map(([from, to]) => `${from}=${to}`)
    .join(',');
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      script,
      `--client=${client}`,
      `--phase=${phase}`,
      `--topics=${topics}`,
      `--events=${events}`,
      `--compression=${args.compression}`,
      `--batch-size=${args['batch-size']}`,
      `--in-flight=${args['in-flight']}`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  return new Promise((resolvePhase, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`${client} ${phase} exited with ${code}`));
      else resolvePhase(JSON.parse(line) as PhaseResult);
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

const topicSets = new Map<string, Record<string, string>>();
const results: PhaseResult[] = [];
try {
  for (let round = 1; round <= rounds; round++) {
    // Alternate who goes first, so neither always meets a warmer (or busier) broker.
    const order = round % 2 === 1 ? CLIENTS : [...CLIENTS].reverse();
    for (const client of order) {
      const renames = generatorTopicsWithSuffix(`kafka-${client}-${round}`);
      topicSets.set(`${client}-${round}`, renames);
      await createTestTopics(config, Object.values(renames));
      for (const phase of ['produce', 'consume'] as const) {
        const before = loadAverage();
        const result = await runPhase(client, phase, renames);
        results.push(result);
        log(
          `round ${round} ${LABEL[client]} ${phase}: ${Math.round(result.messages / result.seconds)} events/s, ` +
            `${(result.bytes / 1e6 / result.seconds).toFixed(1)} MB/s, peak RSS ${result.peakRssMb.toFixed(0)} MB ` +
            `(load average before ${before}, after ${result.loadAverage})`,
        );
      }
      // Consumed: free the broker's disk and page cache before the next phase.
      await deleteTestTopics(config, Object.values(renames));
      topicSets.delete(`${client}-${round}`);
    }
  }
} finally {
  for (const renames of topicSets.values()) await deleteTestTopics(config, Object.values(renames));
}

interface Summary {
  rate: number;
  mbPerS: number;
  peakRssMb: number;
  /** Peak RSS above the RSS before the phase (the workload itself excluded): the client's own. */
  clientRssMb: number;
  rates: number[];
  load: number[];
}
function summarize(client: ClientName, phase: Phase): Summary {
  const mine = results.filter((r) => r.client === client && r.phase === phase);
  return {
    rate: median(mine.map((r) => r.messages / r.seconds)),
    mbPerS: median(mine.map((r) => r.bytes / 1e6 / r.seconds)),
    peakRssMb: Math.max(...mine.map((r) => r.peakRssMb)),
    clientRssMb: Math.max(...mine.map((r) => r.peakRssMb - r.startRssMb)),
    rates: mine.map((r) => Math.round(r.messages / r.seconds)),
    load: mine.map((r) => r.loadAverage),
  };
}

const table: string[][] = [
  ['client', 'phase', 'events/s (median)', 'MB/s', 'peak RSS MB', 'client RSS MB', 'rounds events/s', 'load avg (1 min) per round'],
];
const s: Record<string, Summary> = {};
for (const phase of ['produce', 'consume'] as const) {
  for (const client of CLIENTS) {
    const sum = summarize(client, phase);
    s[`${client}-${phase}`] = sum;
    table.push([
      LABEL[client],
      phase,
      String(Math.round(sum.rate)),
      sum.mbPerS.toFixed(1),
      sum.peakRssMb.toFixed(0),
      `+${sum.clientRssMb.toFixed(0)}`,
      sum.rates.join(' / '),
      sum.load.join(' / '),
    ]);
  }
}
const widths = table[0]?.map((_, c) => Math.max(...table.map((r) => (r[c] ?? '').length))) ?? [];
for (const row of table) process.stdout.write(`${row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ')}\n`);
const get = (k: string) => s[k] as Summary;
const produceRatio = get('platformatic-produce').rate / get('kafkajs-produce').rate;
const consumeRatio = get('platformatic-consume').rate / get('kafkajs-consume').rate;
process.stdout.write(
  `ratio @platformatic/kafka / kafkajs: produce ${produceRatio.toFixed(2)}x, consume ${consumeRatio.toFixed(2)}x ` +
    `(${events} events a phase, ${rounds} rounds, ${args.compression}, load average now ${loadAverage()})\n`,
);
process.stdout.write(
  `${JSON.stringify({
    bench: 'kafka',
    value: Math.round(get('platformatic-produce').rate),
    unit: 'events/s',
    baseline: Math.round(get('kafkajs-produce').rate),
    ratio: Number(produceRatio.toFixed(2)),
    rss_mb: Math.round(get('platformatic-produce').peakRssMb),
    baseline_rss_mb: Math.round(get('kafkajs-produce').peakRssMb),
    produce_mb_per_s: Number(get('platformatic-produce').mbPerS.toFixed(1)),
    baseline_produce_mb_per_s: Number(get('kafkajs-produce').mbPerS.toFixed(1)),
    consume: Math.round(get('platformatic-consume').rate),
    baseline_consume: Math.round(get('kafkajs-consume').rate),
    consume_ratio: Number(consumeRatio.toFixed(2)),
    consume_mb_per_s: Number(get('platformatic-consume').mbPerS.toFixed(1)),
    baseline_consume_mb_per_s: Number(get('kafkajs-consume').mbPerS.toFixed(1)),
    client_rss_mb: Math.round(get('platformatic-produce').clientRssMb),
    baseline_client_rss_mb: Math.round(get('kafkajs-produce').clientRssMb),
    consume_rss_mb: Math.round(get('platformatic-consume').peakRssMb),
    baseline_consume_rss_mb: Math.round(get('kafkajs-consume').peakRssMb),
    consume_client_rss_mb: Math.round(get('platformatic-consume').clientRssMb),
    baseline_consume_client_rss_mb: Math.round(get('kafkajs-consume').clientRssMb),
    events,
    rounds,
    compression: args.compression,
    load_average: loadAverage(),
  })}\n`,
);
