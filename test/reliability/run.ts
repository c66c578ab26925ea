/**
 * `npm run test:reliability`: the fault suite on a stack of its own. The faults kill and restart
 * Kafka and PostgreSQL, so they never run on the shared stack (127.0.0.1:9092 and :5432): this
 * starts a private broker (infra/kafka/kafka.sh on other ports, data in data/reliability/kafka)
 * and a private PostgreSQL cluster (infra/postgres/postgres.sh, a second Debian cluster with its
 * data in data/reliability/postgres), runs every test under test/reliability/ against them through
 * the environment, prints each fault's figures in a table, and stops both servers at the end,
 * also when a test fails or on Ctrl-C.
 *
 *   tsx test/reliability/run.ts [FILE...] [--keep-stack]
 *
 * Environment: RELIABILITY_KAFKA_PORT (default 19092), RELIABILITY_KAFKA_CONTROLLER_PORT (19093),
 * RELIABILITY_PG_PORT (15433), RELIABILITY_PG_CLUSTER (VERSION/reliability, the newest installed
 * PostgreSQL; VERSION/reliability-<hash> when that one keeps its data in another checkout),
 * RELIABILITY_DATA_DIR (data/reliability).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { FaultFigures as Figures } from './faults/harness.ts';

const root = resolve(import.meta.dirname, '..', '..');
const started = Date.now();
const env = process.env;
const kafkaPort = env.RELIABILITY_KAFKA_PORT ?? '19092';
const controllerPort = env.RELIABILITY_KAFKA_CONTROLLER_PORT ?? '19093';
const pgPort = env.RELIABILITY_PG_PORT ?? '15433';
const dataDir = resolve(root, env.RELIABILITY_DATA_DIR ?? 'data/reliability');
const reportFile = join(dataDir, 'figures.jsonl');

function newestPostgres(): string {
  const versions = existsSync('/usr/lib/postgresql')
    ? readdirSync('/usr/lib/postgresql').filter((v) => existsSync(`/usr/lib/postgresql/${v}/bin/postgres`))
    : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest)
    throw new Error('test:reliability: no PostgreSQL server under /usr/lib/postgresql; run `lambdamart stack up` once to install it');
  return newest;
}

/**
 * VERSION/reliability, unless that cluster is registered with its data in another checkout (whose
 * folder may be gone: `pg_ctlcluster start` then fails): this checkout then gets a cluster of its
 * own, VERSION/reliability-<hash of its data folder>.
 */
function defaultCluster(): string {
  const version = newestPostgres();
  const listed = spawnSync('pg_lsclusters', ['-h'], { encoding: 'utf8' });
  const dataOf = new Map(
    (listed.stdout ?? '')
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((cols) => cols.length >= 6)
      .map((cols) => [`${cols[0]}/${cols[1]}`, cols[5] ?? '']),
  );
  const shared = `${version}/reliability`;
  const data = dataOf.get(shared);
  if (data === undefined || data.startsWith(`${dataDir}/`)) return shared;
  const own = `${shared}-${createHash('sha1').update(dataDir).digest('hex').slice(0, 8)}`;
  process.stdout.write(`test:reliability: ${shared} keeps its data in ${data}, another checkout's; this one uses ${own}\n`);
  return own;
}

const pgCluster = env.RELIABILITY_PG_CLUSTER ?? defaultCluster();

const kafkaEnv = { LAMBDAMART_DATA_DIR: dataDir, KAFKA_PORT: kafkaPort, KAFKA_CONTROLLER_PORT: controllerPort };
const pgEnv = { LAMBDAMART_DATA_DIR: dataDir, PGPORT: pgPort, LAMBDAMART_PG_CLUSTER: pgCluster, LAMBDAMART_PG_CREATE_CLUSTER: '1' };

function script(path: string, command: string, extra: Record<string, string>): Promise<number> {
  return new Promise((resolvePromise) => {
    const child = spawn('bash', [join(root, path), command], { cwd: root, env: { ...env, ...extra }, stdio: 'inherit' });
    child.once('exit', (code) => resolvePromise(code ?? 1));
  });
}

function findTests(dir: string, found: string[] = []): string[] {
  if (!existsSync(dir)) return found;
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) findTests(path, found);
    // The bad-input tests (`input/*.int.test.ts`) need no faults: `npm test` runs them on its stack.
    else if (entry.endsWith('.fault.ts')) found.push(path);
  }
  return found.sort();
}

function printTable(): void {
  const rows: Figures[] = existsSync(reportFile)
    ? readFileSync(reportFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Figures)
    : [];
  const header = ['fault', 'sent', 'when the fault struck', 'after recovery', 'recovered in', 'reconcile', 'how'];
  const cells = rows.map((r) => [r.fault, String(r.sent), r.before, r.after, `${r.recoverySeconds.toFixed(1)} s`, r.reconcile, r.note]);
  const cell = (c: string) => c.replaceAll('|', '\\|');
  process.stdout.write(
    `\n${[`| ${header.join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`, ...cells.map((c) => `| ${c.map(cell).join(' | ')} |`)].join('\n')}\n`,
  );
  process.stdout.write(`\n${rows.length} faults recorded; the suite took ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}

const args = process.argv.slice(2);
const keepStack = args.includes('--keep-stack');
const chosen = args.filter((a) => !a.startsWith('--')).map((a) => resolve(a));
const files = chosen.length
  ? chosen.flatMap((c) => (statSync(c).isDirectory() ? findTests(c) : [c]))
  : findTests(join(root, 'test', 'reliability'));
if (files.length === 0) {
  process.stderr.write('test:reliability: no *.fault.ts under test/reliability\n');
  process.exit(1);
}

let exitCode = 1;
let child: ReturnType<typeof spawn> | undefined;
let stopping = false;
const onSignal = (signal: NodeJS.Signals) => {
  stopping = true;
  child?.kill(signal);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

try {
  rmSync(reportFile, { force: true });
  rmSync(join(dataDir, 'logs'), { recursive: true, force: true });
  process.stdout.write(
    `test:reliability: private stack: Kafka 127.0.0.1:${kafkaPort}, PostgreSQL ${pgCluster} on 127.0.0.1:${pgPort}, data in ${relative(root, dataDir)}\n`,
  );
  if ((await script('infra/postgres/postgres.sh', 'start', pgEnv)) !== 0) throw new Error('the private PostgreSQL did not start');
  if ((await script('infra/kafka/kafka.sh', 'start', kafkaEnv)) !== 0) throw new Error('the private Kafka did not start');
  if (!stopping) {
    child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files.map((f) => relative(root, f))], {
      cwd: root,
      stdio: 'inherit',
      env: {
        ...env,
        KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
        REALTIME_DATABASE_URL: `postgres://lambdamart:lambdamart@127.0.0.1:${pgPort}/lambdamart_realtime`,
        WAREHOUSE_DATABASE_URL: `postgres://lambdamart:lambdamart@127.0.0.1:${pgPort}/lambdamart_warehouse`,
        RELIABILITY_PG_SERVER: `postgres://lambdamart:lambdamart@127.0.0.1:${pgPort}`,
        RELIABILITY_PG_CLUSTER: pgCluster,
        RELIABILITY_DATA_DIR: dataDir,
        RELIABILITY_KAFKA_PORT: kafkaPort,
        RELIABILITY_KAFKA_CONTROLLER_PORT: controllerPort,
        RELIABILITY_REPORT: reportFile,
        LAKE_DIR: join(dataDir, 'lake'),
      },
    });
    exitCode = await new Promise<number>((r) => child?.once('exit', (code, signal) => r(code ?? (signal ? 1 : 0))));
  }
} catch (error) {
  process.stderr.write(`test:reliability: ${error instanceof Error ? error.message : String(error)}\n`);
  exitCode = 1;
} finally {
  if (!keepStack) {
    await script('infra/kafka/kafka.sh', 'stop', kafkaEnv);
    await script('infra/postgres/postgres.sh', 'stop', pgEnv);
  }
  printTable();
}
process.exit(exitCode);
