/**
 * The local stack: the machine's PostgreSQL and a single-node Kafka, started by the shell scripts
 * in infra/, then the topics and the migrations. Servers the user points us at with
 * KAFKA_BROKERS / *_DATABASE_URL are used as they are: nothing of that kind is started or stopped.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { allTopics, type Config, createPool, describePostgresUrl, LambdamartError, postgresUnreachable } from '@lambdamart/core';
import { type MigratedDatabase, migrateUp, migrationStatus } from '@lambdamart/warehouse';
import { waitForKafkaReady } from './kafka-ready.ts';
import { formatTable } from './table.ts';
import { describeTopics, ensureTopics } from './topics.ts';

export const repoRoot = resolve(import.meta.dirname, '..', '..');

type Component = 'postgres' | 'kafka';
const scripts: Record<Component, string> = {
  postgres: resolve(repoRoot, 'infra/postgres/postgres.sh'),
  kafka: resolve(repoRoot, 'infra/kafka/kafka.sh'),
};

export interface StackOptions {
  quiet?: boolean;
  out?: (line: string) => void;
}

/** Runs `infra/<component>/<component>.sh <action>`; its stderr (progress, errors) passes through. */
export function runInfraScript(config: Config, component: Component, action: string, options: StackOptions = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((done, fail) => {
    const child = spawn('bash', [scripts[component], action], {
      cwd: repoRoot,
      env: { ...process.env, LAMBDAMART_DATA_DIR: resolve(config.dataDir) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
      if (!options.quiet) process.stderr.write(chunk);
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? 1, stdout, stderr }));
  });
}

async function startComponent(config: Config, component: Component, options: StackOptions): Promise<void> {
  const { code, stderr } = await runInfraScript(config, component, 'start', options);
  if (code !== 0) {
    // The script's last line says what went wrong and how to fix it.
    const reason = stderr.trim().split('\n').filter(Boolean).at(-1) ?? `exit code ${code}`;
    throw new LambdamartError('LM_ERR_STACK_START', `${component} did not start: ${reason}`);
  }
}

const databases: [MigratedDatabase, (c: Config) => string][] = [
  ['realtime', (c) => c.realtimeDatabaseUrl],
  ['warehouse', (c) => c.warehouseDatabaseUrl],
];

async function checkPostgres(url: string): Promise<void> {
  const pool = createPool(url, { max: 1, application: 'lambdamart-stack' });
  try {
    await pool.query('select 1');
  } catch (error) {
    throw postgresUnreachable(url, error);
  } finally {
    await pool.end();
  }
}

export async function migrateAll(config: Config, only?: MigratedDatabase): Promise<Record<string, string[]>> {
  const applied: Record<string, string[]> = {};
  for (const [database, url] of databases) {
    if (only && only !== database) continue;
    try {
      applied[database] = await migrateUp(database, url(config));
    } catch (error) {
      if (isConnectionError(error)) throw postgresUnreachable(url(config), error);
      throw new LambdamartError('LM_ERR_MIGRATION_FAILED', `migrating ${database} failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  return applied;
}

/** Errors that mean "could not reach or log into the server", as opposed to a bad migration. */
function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? '';
  return ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET', '28P01', '28000', '3D000', '57P03'].includes(code);
}

/** Starts what is missing, creates topics and databases' schemas; harmless to run again. */
export async function stackUp(config: Config, options: StackOptions = {}): Promise<void> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  if (!config.external.postgres) await startComponent(config, 'postgres', options);
  if (!config.external.kafka) await startComponent(config, 'kafka', options);
  for (const [, url] of databases) await checkPostgres(url(config));
  const created = await ensureTopics(config);
  try {
    await waitForKafkaReady(config, allTopics);
  } catch (error) {
    throw new LambdamartError('LM_ERR_KAFKA_NOT_READY', `kafka is up but not ready: ${(error as Error).message}`, {
      hint: `see ${config.dataDir}/kafka/server.log`,
    });
  }
  const applied = await migrateAll(config);
  if (options.quiet) return;
  if (created.length) out(`topics created: ${created.join(', ')}`);
  for (const [database, names] of Object.entries(applied)) {
    if (names.length) out(`${database} migrations applied: ${names.join(', ')}`);
  }
  const status = await stackStatus(config);
  out(status.text);
}

export async function stackDown(config: Config, options: StackOptions = {}): Promise<void> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  // Kafka first: it is ours alone, while Postgres may serve others (its script knows).
  for (const component of ['kafka', 'postgres'] as const) {
    const external = component === 'kafka' ? config.external.kafka : config.external.postgres;
    if (external) {
      out(`${component}: external (set by env), left running`);
      continue;
    }
    const { code, stderr } = await runInfraScript(config, component, 'stop', { quiet: true });
    const last = stderr.trim().split('\n').filter(Boolean).at(-1);
    if (code !== 0) throw new LambdamartError('LM_ERR_STACK_DOWN', `${component} did not stop: ${last ?? `exit ${code}`}`);
    out(last ?? `${component}: stopped`);
  }
}

export interface ComponentStatus {
  component: string;
  address: string;
  healthy: boolean;
  detail: string;
}

export async function stackStatus(config: Config): Promise<{ healthy: boolean; components: ComponentStatus[]; text: string }> {
  const components: ComponentStatus[] = [];

  const brokers = config.kafka.brokers.join(',');
  try {
    const topics = await describeTopics(config);
    const wrong = topics.filter((t) => t.partitions !== t.expectedPartitions);
    components.push({
      component: 'kafka',
      address: brokers,
      healthy: wrong.length === 0,
      detail: wrong.length
        ? `topics missing or mis-sized: ${wrong.map((t) => `${t.name} (${t.partitions ?? 'missing'})`).join(', ')}`
        : `${topics.length} topics, ${topics.map((t) => t.partitions).join('/')} partitions`,
    });
  } catch (error) {
    components.push({ component: 'kafka', address: brokers, healthy: false, detail: `down: ${(error as Error).message}` });
  }

  for (const [database, url] of databases) {
    const address = describePostgresUrl(url(config));
    try {
      const { applied, pending } = await migrationStatus(database, url(config));
      components.push({
        component: `postgres ${database}`,
        address,
        healthy: pending.length === 0,
        detail: pending.length
          ? `${pending.length} migrations pending (run lambdamart migrate)`
          : `schema at ${applied.at(-1) ?? '(empty)'}`,
      });
    } catch (error) {
      components.push({ component: `postgres ${database}`, address, healthy: false, detail: `down: ${(error as Error).message}` });
    }
  }

  const healthy = components.every((c) => c.healthy);
  const text = formatTable(
    ['component', 'address', 'status', 'detail'],
    components.map((c) => [c.component, c.address, c.healthy ? 'up' : 'DOWN', c.detail]),
  );
  return { healthy, components, text };
}
