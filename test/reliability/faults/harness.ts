/**
 * What every fault of the reliability suite shares: the private stack the runner started (its own
 * Kafka and PostgreSQL, never the shared ones), a scenario of its own on it (databases, topics, a
 * lake folder), the real savers and batch jobs as child processes (`lambdamart speed`,
 * `lambdamart batch run`), events produced with kcat, and the figures each fault records for the
 * runner's table.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cliNodeArgs } from '@lambdamart/cli-launch';
import { allTopics, createKafka, createPool, loadConfig, type Pool, partitionBounds, withAdmin } from '@lambdamart/core';
import { databaseUrl } from '@lambdamart/test-helpers';
import { migrateUp } from '@lambdamart/warehouse';

export const root = resolve(import.meta.dirname, '..', '..', '..');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The private stack, as the runner (test/reliability/run.ts) describes it in the environment. */
export interface Stack {
  brokers: string;
  /** postgres://lambdamart:lambdamart@127.0.0.1:PORT, without a database. */
  pgServer: string;
  pgPort: number;
  /** VERSION/NAME of the private cluster (pg_ctlcluster), to restart it. */
  pgCluster: string;
  /** The runner's data dir: logs, lakes, the figures file. */
  dataDir: string;
  /** Environment for infra/kafka/kafka.sh on the private broker. */
  kafkaEnv: Record<string, string>;
  reportFile: string;
}

/** Refuses to run outside the runner: the faults restart servers, which must never be the shared ones. */
export function privateStack(): Stack {
  const env = process.env;
  const need = (name: string): string => {
    const value = env[name];
    if (!value) {
      throw new Error(
        `${name} is not set: the fault tests restart Kafka and PostgreSQL, so they run only on the private stack of \`npm run test:reliability\` (test/reliability/run.ts)`,
      );
    }
    return value;
  };
  const dataDir = need('RELIABILITY_DATA_DIR');
  return {
    brokers: need('KAFKA_BROKERS'),
    pgServer: need('RELIABILITY_PG_SERVER'),
    pgPort: Number(new URL(need('RELIABILITY_PG_SERVER')).port),
    pgCluster: need('RELIABILITY_PG_CLUSTER'),
    dataDir,
    kafkaEnv: {
      LAMBDAMART_DATA_DIR: dataDir,
      KAFKA_PORT: need('RELIABILITY_KAFKA_PORT'),
      KAFKA_CONTROLLER_PORT: need('RELIABILITY_KAFKA_CONTROLLER_PORT'),
    },
    reportFile: need('RELIABILITY_REPORT'),
  };
}

// ------------------------------------------------------------------ child processes

export interface Child {
  name: string;
  child: ChildProcess;
  /** Everything it printed (stdout and stderr), also written to its log file. */
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  log: string;
}

/** `lambdamart ARGS` as a child process, its output to <data>/logs/<name>.log. */
export function spawnCli(
  stack: Stack,
  name: string,
  args: string[],
  env: Record<string, string>,
  options: { prefix?: string[] } = {},
): Child {
  const logs = join(stack.dataDir, 'logs');
  mkdirSync(logs, { recursive: true });
  const log = join(logs, `${name}.log`);
  const file = createWriteStream(log, { flags: 'a' });
  const command = [...(options.prefix ?? []), process.execPath, ...cliNodeArgs(args)];
  const child = spawn(command[0] as string, command.slice(1), {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const keep = (chunk: Buffer) => {
    text += chunk.toString('utf8');
    if (text.length > 2_000_000) text = text.slice(-1_000_000);
    file.write(chunk);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => {
    child.once('exit', (code, signal) => {
      file.end();
      r({ code, signal });
    });
  });
  return { name, child, output: () => text, exited, log };
}

/** Runs a shell command to its end; rejects with its output when it fails. */
export async function run(command: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  return await new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolvePromise(out) : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${out.trim().slice(-2000)}`)),
    );
  });
}

// ------------------------------------------------------------------ the stack's servers

export async function stopKafka(stack: Stack): Promise<void> {
  await run('bash', [join(root, 'infra/kafka/kafka.sh'), 'stop'], stack.kafkaEnv);
}

export async function startKafka(stack: Stack): Promise<void> {
  await run('bash', [join(root, 'infra/kafka/kafka.sh'), 'start'], stack.kafkaEnv);
}

/** Stops the private PostgreSQL like a crash (immediate: no checkpoint, clients cut off). */
export async function crashPostgres(stack: Stack): Promise<void> {
  const [version = '', name = ''] = stack.pgCluster.split('/');
  await run('pg_ctlcluster', [version, name, 'stop', '-m', 'immediate']);
}

export async function startPostgres(stack: Stack): Promise<void> {
  const [version = '', name = ''] = stack.pgCluster.split('/');
  await run('pg_ctlcluster', [version, name, 'start']);
  for (let i = 0; i < 120; i++) {
    try {
      await run('pg_isready', ['-q', '-h', '127.0.0.1', '-p', String(stack.pgPort)]);
      return;
    } catch {
      await sleep(250);
    }
  }
  throw new Error(`the private PostgreSQL did not come back on port ${stack.pgPort} within 30 s`);
}

/** psql as the postgres superuser on the private cluster (Unix socket, peer authentication). */
export async function psqlSuper(stack: Stack, database: string, sql: string): Promise<string> {
  return await run('runuser', [
    '-u',
    'postgres',
    '--',
    'psql',
    '-X',
    '-q',
    '-tA',
    '-v',
    'ON_ERROR_STOP=1',
    '-p',
    String(stack.pgPort),
    '-d',
    database,
    '-c',
    sql,
  ]);
}

// ------------------------------------------------------------------ a scenario

/** The databases, topics and lake of one fault, on the private stack. */
export class Scenario {
  readonly realtimeUrl: string;
  readonly warehouseUrl: string;
  readonly lakeDir: string;
  readonly suffix: string;
  readonly realtime: Pool;
  readonly warehouse: Pool;
  private children: Child[] = [];
  private spawned = 0;

  private constructor(
    readonly stack: Stack,
    readonly label: string,
    readonly databases: { realtime: string; warehouse: string },
  ) {
    this.realtimeUrl = databaseUrl(stack.pgServer, databases.realtime);
    this.warehouseUrl = databaseUrl(stack.pgServer, databases.warehouse);
    this.lakeDir = join(stack.dataDir, 'lake', label);
    this.suffix = `.rel-${label}-${randomBytes(3).toString('hex')}`;
    this.realtime = createPool(this.realtimeUrl, { max: 2, application: 'lambdamart-reliability' });
    this.warehouse = createPool(this.warehouseUrl, { max: 2, application: 'lambdamart-reliability' });
  }

  /** Fresh databases (migrated), topics and lake folder for `label`. */
  static async create(stack: Stack, label: string, options: { topicConfig?: Record<string, string>; tablespace?: string } = {}) {
    const databases = { realtime: `lambdamart_rel_${label}_rt`, warehouse: `lambdamart_rel_${label}_wh` };
    const admin = createPool(databaseUrl(stack.pgServer, 'postgres'), { max: 1, application: 'lambdamart-reliability' });
    try {
      for (const name of Object.values(databases)) await admin.query(`drop database if exists ${name} with (force)`);
      await admin.query(`create database ${databases.realtime}${options.tablespace ? ` tablespace ${options.tablespace}` : ''}`);
      await admin.query(`create database ${databases.warehouse}`);
    } finally {
      await admin.end();
    }
    const scenario = new Scenario(stack, label, databases);
    await migrateUp('realtime', scenario.realtimeUrl);
    await migrateUp('warehouse', scenario.warehouseUrl);
    rmSync(scenario.lakeDir, { recursive: true, force: true });
    mkdirSync(scenario.lakeDir, { recursive: true });
    await scenario.createTopics(options.topicConfig ?? {});
    return scenario;
  }

  topic(name: string): string {
    return `${name}${this.suffix}`;
  }

  private kafka() {
    const config = loadConfig({ KAFKA_BROKERS: this.stack.brokers, LOG_LEVEL: 'silent' });
    return createKafka({ ...config.kafka, clientId: 'lambdamart-reliability' });
  }

  private async createTopics(extraConfig: Record<string, string>): Promise<void> {
    await withAdmin(this.kafka(), (admin) =>
      admin.createTopics({
        waitForLeaders: true,
        topics: allTopics.map((t) => ({
          topic: this.topic(t.name),
          numPartitions: t.partitions,
          replicationFactor: 1,
          configEntries: Object.entries({ ...t.config, ...(t.name === 'dead-letters' ? {} : extraConfig) }).map(([name, value]) => ({
            name,
            value,
          })),
        })),
      }),
    );
  }

  /** Messages in a topic of this scenario (sum over partitions of high - low). */
  async messagesIn(name: string): Promise<number> {
    const bounds = await withAdmin(this.kafka(), (admin) => partitionBounds(admin, [this.topic(name)]));
    return bounds.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  }

  /** The environment a child of this scenario runs with. */
  env(): Record<string, string> {
    return {
      KAFKA_BROKERS: this.stack.brokers,
      REALTIME_DATABASE_URL: this.realtimeUrl,
      WAREHOUSE_DATABASE_URL: this.warehouseUrl,
      LAKE_DIR: this.lakeDir,
      LAMBDAMART_DATA_DIR: this.stack.dataDir,
    };
  }

  /** `lambdamart speed` on this scenario's topics, in consumer group `group`. */
  spawnSaver(group = 'savers'): Child {
    const child = spawnCli(
      this.stack,
      `${this.label}-saver-${++this.spawned}`,
      ['speed', '--group', group, '--topic-suffix', this.suffix, '--metrics-port', '0'],
      this.env(),
    );
    this.children.push(child);
    return child;
  }

  /** `lambdamart batch run ARGS` (all jobs by default), not awaited. */
  startBatch(args: string[] = [], options: { prefix?: string[] } = {}): Child {
    const child = spawnCli(this.stack, `${this.label}-batch-${++this.spawned}`, ['batch', 'run', ...args], this.env(), options);
    this.children.push(child);
    return child;
  }

  /** `lambdamart batch run ARGS` to its end; throws with its output unless it exits 0. */
  async runBatch(args: string[] = []): Promise<string> {
    const batch = this.startBatch(args);
    const { code, signal } = await batch.exited;
    if (code !== 0) throw new Error(`lambdamart batch run ${args.join(' ')} exited ${code ?? signal}: ${batch.output().slice(-3000)}`);
    return batch.output();
  }

  /** Stops every child still running (SIGTERM, then SIGKILL), closes the pools, drops the topics. */
  async close(): Promise<void> {
    for (const c of this.children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGTERM');
    await Promise.race([Promise.all(this.children.map((c) => c.exited)), sleep(15_000)]);
    for (const c of this.children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await Promise.allSettled([this.realtime.end(), this.warehouse.end()]);
    await withAdmin(this.kafka(), (admin) =>
      admin.deleteTopics({ topics: allTopics.map((t) => this.topic(t.name)), timeout: 10_000 }),
    ).catch(() => undefined);
  }

  /** Drops the scenario's databases (after close). */
  async dropDatabases(): Promise<void> {
    const admin = createPool(databaseUrl(this.stack.pgServer, 'postgres'), { max: 1, application: 'lambdamart-reliability' });
    try {
      for (const name of Object.values(this.databases)) await dropDatabase(admin, name);
    } finally {
      await admin.end();
    }
  }
}

/**
 * `drop ... with (force)` as our non-superuser role cannot end a session of another role that is
 * still on the database for a moment after a fault (42501, seen in CI after the rebalance fault):
 * it tries again for a few seconds, then leaves the database to the private cluster, which the
 * runner stops. Tearing down is not the fault's verdict.
 */
async function dropDatabase(admin: ReturnType<typeof createPool>, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.query(`drop database if exists ${name} with (force)`);
      return;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt < 10 && (code === '42501' || code === '55006')) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        continue;
      }
      process.stderr.write(`reliability: database ${name} left in the private cluster: ${(error as Error).message}\n`);
      return;
    }
  }
}

/** Polls `read` until `done` holds or `timeoutMs` passes; returns the last value either way. */
export async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read().catch(() => undefined);
    if (value !== undefined && done(value)) return value;
    if (Date.now() > deadline) {
      if (value === undefined) return await read();
      return value;
    }
    await sleep(everyMs);
  }
}

// ------------------------------------------------------------------ the figures

export interface FaultFigures {
  fault: string;
  /** Events sent (valid + invalid) in the fault's stream. */
  sent: number;
  /** What was saved when the fault struck (rows + dead letters), and after recovery. */
  before: string;
  after: string;
  /** Seconds from the end of the fault (a restart, a rerun) to every event accounted for. */
  recoverySeconds: number;
  /** The reconcile check after the fault: 'ok' or the mismatches. */
  reconcile: string;
  note: string;
}

/** Appends the fault's figures to the runner's report file (one JSON line). */
export function recordFigures(stack: Stack, figures: FaultFigures): void {
  appendFileSync(stack.reportFile, `${JSON.stringify(figures)}\n`);
}
