/**
 * Configuration from the environment. This is the only file that reads `process.env`: everything
 * else receives a typed `Config`. A bad value stops start-up with one line naming the variable,
 * the value and what was expected.
 */
import { resolve } from 'node:path';
import { validate as isValidCron } from 'node-cron';
import { z } from 'zod';
import { LambdamartError } from './errors.ts';

const LOCAL_PG = 'postgres://lambdamart:lambdamart@127.0.0.1:5432';

const hostPort = /^[A-Za-z0-9.-]+:\d{1,5}$/;

const postgresUrl = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.pathname.length > 1;
    } catch {
      return false;
    }
  },
  { message: 'a postgres://user:password@host:port/database URL' },
);

const port = z.coerce
  .number({ message: 'a TCP port number' })
  .int({ message: 'a whole TCP port number' })
  .min(1, { message: 'a TCP port between 1 and 65535' })
  .max(65535, { message: 'a TCP port between 1 and 65535' });

/** `a, b,,c` -> ['a', 'b', 'c']: the entries of a comma-separated variable, trimmed, empty ones dropped. */
function commaList(value: string): string[] {
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
}

const EnvSchema = z.object({
  KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .transform(commaList)
    .refine((brokers) => brokers.length > 0 && brokers.every((broker) => hostPort.test(broker)), {
      message: 'a comma-separated list of host:port, e.g. 127.0.0.1:9092',
    }),
  REALTIME_DATABASE_URL: postgresUrl.default(`${LOCAL_PG}/lambdamart_realtime`),
  WAREHOUSE_DATABASE_URL: postgresUrl.default(`${LOCAL_PG}/lambdamart_warehouse`),
  LAKE_DIR: z.string().min(1, { message: 'a directory path' }).default('./data/lake'),
  LAMBDAMART_DATA_DIR: z.string().min(1, { message: 'a directory path' }).default('./data'),
  API_PORT: port.default(8000),
  SPEED_METRICS_PORT: port.default(9464),
  GENERATOR_RATE: z.coerce
    .number({ message: 'events per second, a number above 0' })
    .positive({ message: 'events per second, a number above 0' })
    .default(200),
  // key:role pairs; a bare key means read. Keys stay out of every message (only their position).
  API_KEYS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      const keys: ApiKey[] = [];
      for (const [index, entry] of value
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean)
        .entries()) {
        const colon = entry.lastIndexOf(':');
        const key = colon === -1 ? entry : entry.slice(0, colon);
        const role = colon === -1 ? 'read' : entry.slice(colon + 1);
        if (key.length < 16 || (role !== 'read' && role !== 'admin')) {
          ctx.addIssue({
            code: 'custom',
            message: `a comma-separated list of key:role, each key at least 16 characters long and role read or admin (entry ${index + 1} is not)`,
          });
          return z.NEVER;
        }
        keys.push({ key, role });
      }
      return keys;
    }),
  API_CORS_ORIGINS: z
    .string()
    .default('')
    .transform(commaList)
    .refine((origins) => origins.every((origin) => origin === '*' || /^https?:\/\/[^/\s]+$/.test(origin)), {
      message: 'a comma-separated list of origins such as https://bi.example.com (or * for any)',
    }),
  API_RATE_LIMIT: z.coerce
    .number({ message: 'requests per minute per key (or per IP without one), a whole number >= 1' })
    .int({ message: 'requests per minute per key (or per IP without one), a whole number >= 1' })
    .min(1, { message: 'requests per minute per key (or per IP without one), a whole number >= 1' })
    .default(600),
  API_CACHE: z.enum(['on', 'off'], { message: 'on or off' }).default('on'),
  BATCH_CRON: z
    .string()
    .default('*/5 * * * *')
    .refine((value) => isValidCron(value), { message: 'a cron expression such as "*/5 * * * *"' }),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      message: 'one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
});

type Env = z.infer<typeof EnvSchema>;

export interface Config {
  kafka: { brokers: string[]; clientId: string };
  realtimeDatabaseUrl: string;
  warehouseDatabaseUrl: string;
  lakeDir: string;
  dataDir: string;
  api: {
    port: number;
    keys: ApiKey[];
    /** Origins allowed by CORS; empty: none, ['*']: any. */
    corsOrigins: string[];
    /** Requests per minute per key, or per client IP without a key. */
    rateLimitPerMinute: number;
    /** The in-process response cache (off: every read goes to the databases, for benchmarks). */
    cache: boolean;
  };
  /** The savers (speed layer): port of their /health and /metrics. */
  speed: { metricsPort: number };
  /** The generator of `npm start`: its steady rate in events per second. */
  generator: { rate: number };
  batchCron: string;
  logLevel: Env['LOG_LEVEL'];
  /** Which servers the user pointed us at: the local stack starts none of those. */
  external: { kafka: boolean; postgres: boolean };
}

export type ApiRole = 'read' | 'admin';

export interface ApiKey {
  key: string;
  role: ApiRole;
}

const secretVariables = new Set(['API_KEYS']);

export type EnvSource = Readonly<Record<string, string | undefined>>;

/** The variables the config reads, for docs and for the docker-compose check. */
export const configVariables = Object.keys(EnvSchema.shape) as (keyof Env)[];

/** Reads and validates the environment; throws a LambdamartError naming the first bad variable. */
export function loadConfig(env: EnvSource = process.env): Config {
  // An empty string means "unset": `FOO= lambdamart ...` should fall back to the default.
  const present = Object.fromEntries(
    configVariables.filter((name) => env[name] !== undefined && env[name] !== '').map((name) => [name, env[name]]),
  );
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'environment');
    // Secrets are never echoed: a wrong API_KEYS names the entry, not the keys.
    const value = secretVariables.has(name) ? '(hidden)' : present[name];
    throw new LambdamartError(
      'LM_ERR_CONFIG_INVALID',
      `Invalid environment variable ${name}=${JSON.stringify(value)}: expected ${issue?.message ?? 'a valid value'}`,
    );
  }
  const e = parsed.data;
  return {
    kafka: { brokers: e.KAFKA_BROKERS, clientId: 'lambdamart' },
    realtimeDatabaseUrl: e.REALTIME_DATABASE_URL,
    warehouseDatabaseUrl: e.WAREHOUSE_DATABASE_URL,
    // Absolute from the start: a relative lake would move with the working directory of
    // whichever process (CLI, scheduler, child) resolves it later.
    lakeDir: resolve(e.LAKE_DIR),
    dataDir: e.LAMBDAMART_DATA_DIR,
    api: {
      port: e.API_PORT,
      keys: e.API_KEYS,
      corsOrigins: e.API_CORS_ORIGINS,
      rateLimitPerMinute: e.API_RATE_LIMIT,
      cache: e.API_CACHE === 'on',
    },
    speed: { metricsPort: e.SPEED_METRICS_PORT },
    generator: { rate: e.GENERATOR_RATE },
    batchCron: e.BATCH_CRON,
    logLevel: e.LOG_LEVEL,
    external: {
      kafka: 'KAFKA_BROKERS' in present,
      postgres: 'REALTIME_DATABASE_URL' in present || 'WAREHOUSE_DATABASE_URL' in present,
    },
  };
}

/** For process entry points: the config, or one line on stderr and exit code 2. */
export function loadConfigOrExit(env: EnvSource = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof LambdamartError) {
      process.stderr.write(`lambdamart: ${error.oneLine()}\n`);
      process.exit(2);
    }
    throw error;
  }
}
