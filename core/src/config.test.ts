import assert from 'node:assert/strict';
import { isAbsolute, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from './config.ts';
import { LambdamartError } from './errors.ts';

function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof LambdamartError, 'a LambdamartError');
    assert.equal(error.code, 'LM_ERR_CONFIG_INVALID');
    return error.message;
  }
  assert.fail(`expected ${JSON.stringify(env)} to be refused`);
}

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const config = loadConfig({});
    assert.deepEqual(config.kafka.brokers, ['127.0.0.1:9092']);
    assert.match(config.realtimeDatabaseUrl, /127\.0\.0\.1:5432\/lambdamart_realtime$/);
    assert.match(config.warehouseDatabaseUrl, /127\.0\.0\.1:5432\/lambdamart_warehouse$/);
    assert.equal(config.lakeDir, resolve('./data/lake'));
    assert.equal(config.api.port, 8000);
    assert.deepEqual(config.api.keys, []);
    assert.deepEqual(config.api.corsOrigins, []);
    assert.equal(config.api.rateLimitPerMinute, 600);
    assert.equal(config.api.cache, true);
    assert.equal(config.batchCron, '*/5 * * * *');
    assert.equal(config.logLevel, 'info');
    assert.deepEqual(config.external, { kafka: false, postgres: false });
  });

  it('makes LAKE_DIR absolute at start-up: a later chdir or a child process sees the same lake', () => {
    const relative = loadConfig({ LAKE_DIR: 'some/lake' }).lakeDir;
    assert.ok(isAbsolute(relative), relative);
    assert.equal(relative, join(process.cwd(), 'some', 'lake'));
    assert.equal(loadConfig({ LAKE_DIR: '/srv/lake/' }).lakeDir, '/srv/lake');
  });

  it('reads every variable and marks user-chosen servers as external', () => {
    const config = loadConfig({
      KAFKA_BROKERS: 'k1:9092, k2:9093',
      REALTIME_DATABASE_URL: 'postgresql://u:p@db:6543/rt',
      API_PORT: '9000',
      API_KEYS: 'aaaaaaaaaaaaaaaa,bbbbbbbbbbbbbbbb:admin, cccccccccccccccc:read',
      API_CORS_ORIGINS: 'https://bi.example.com, http://localhost:3000',
      API_RATE_LIMIT: '120',
      API_CACHE: 'off',
      BATCH_CRON: '0 2 * * *',
      LOG_LEVEL: 'debug',
    });
    assert.deepEqual(config.kafka.brokers, ['k1:9092', 'k2:9093']);
    assert.equal(config.realtimeDatabaseUrl, 'postgresql://u:p@db:6543/rt');
    assert.equal(config.api.port, 9000);
    assert.deepEqual(config.api.keys, [
      { key: 'aaaaaaaaaaaaaaaa', role: 'read' },
      { key: 'bbbbbbbbbbbbbbbb', role: 'admin' },
      { key: 'cccccccccccccccc', role: 'read' },
    ]);
    assert.deepEqual(config.api.corsOrigins, ['https://bi.example.com', 'http://localhost:3000']);
    assert.equal(config.api.rateLimitPerMinute, 120);
    assert.equal(config.api.cache, false);
    assert.equal(config.batchCron, '0 2 * * *');
    assert.equal(config.logLevel, 'debug');
    assert.deepEqual(config.external, { kafka: true, postgres: true });
  });

  it('treats an empty value as unset', () => {
    assert.equal(loadConfig({ API_PORT: '' }).api.port, 8000);
  });

  const bad: [string, string, RegExp][] = [
    ['KAFKA_BROKERS', 'localhost', /host:port/],
    ['KAFKA_BROKERS', 'a:1,b', /host:port/],
    ['REALTIME_DATABASE_URL', 'mysql://x@y/z', /postgres:\/\//],
    ['WAREHOUSE_DATABASE_URL', 'not a url', /postgres:\/\//],
    ['WAREHOUSE_DATABASE_URL', 'postgres://u@h:5432', /postgres:\/\//],
    ['API_PORT', 'abc', /TCP port/],
    ['API_PORT', '70000', /between 1 and 65535/],
    ['API_PORT', '80.5', /whole TCP port/],
    ['API_KEYS', 'short', /at least 16 characters/],
    ['API_KEYS', 'aaaaaaaaaaaaaaaa:owner', /role read or admin \(entry 1/],
    ['API_CORS_ORIGINS', 'bi.example.com', /origins such as/],
    ['API_RATE_LIMIT', '0', /requests per minute/],
    ['API_CACHE', 'maybe', /on or off/],
    ['BATCH_CRON', 'every five minutes', /cron expression/],
    ['LOG_LEVEL', 'loud', /one of fatal, error/],
  ];
  for (const [name, value, expected] of bad) {
    it(`refuses ${name}=${JSON.stringify(value)} with one line naming it`, () => {
      const message = configError({ [name]: value });
      const shown = name === 'API_KEYS' ? '(hidden)' : value;
      assert.ok(message.startsWith(`Invalid environment variable ${name}=${JSON.stringify(shown)}: expected `), message);
      assert.match(message, expected);
      assert.ok(!message.includes('\n'), 'one line');
    });
  }

  it('never echoes an API key in its message', () => {
    const message = configError({ API_KEYS: 'good-key-0123456789:admin,secret-key-0123456789:root' });
    assert.match(message, /entry 2/);
    assert.ok(!message.includes('secret-key') && !message.includes('good-key'), message);
  });
});
