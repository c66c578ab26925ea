/**
 * A fuzz run of the OpenAPI document: schemathesis (PyPI, in .cache/venv, installed by
 * infra/tools/install-test-tools.sh) generates requests for every operation of /openapi.json,
 * valid and invalid, and checks that none is answered with a 5xx. The API runs on real temporary
 * databases holding a little warehouse (built by the batch jobs from the batch fixtures) and a
 * speed view after it; writes carry an admin key, so ingestion (into this test's own topics) and
 * job triggers (on these databases) are fuzzed too. The API's own request counter is the second
 * witness: no 5xx there either, and every operation was called.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { runJobs } from '@lambdamart/batch-layer';
import { addCart, addCatalog, addOrder, addView, withBatchDatabases } from '@lambdamart/batch-layer/testing';
import { batchJobTrigger } from '@lambdamart/cli/api-jobs';
import { allTopics, createLogger, loadConfig } from '@lambdamart/core';
import { createTestTopics, deleteTestTopics } from '@lambdamart/test-helpers';
import { operationsOf, withListeningApi } from './api-server.ts';

const root = resolve(import.meta.dirname, '..', '..');
const schemathesis = resolve(process.env.LAMBDAMART_VENV ?? resolve(root, '.cache', 'venv'), 'bin', 'schemathesis');
const adminKey = `fuzz-admin-${randomBytes(8).toString('hex')}`;

/** Runs schemathesis to its end (or kills it after `timeoutMs`); its output, for the failure message. */
async function runSchemathesis(args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  // In a folder of its own: schemathesis keeps a cache of past crashes in ./.schemathesis and would replay them.
  const cwd = await mkdtemp(join(tmpdir(), 'lambdamart-fuzz-'));
  try {
    return await runIn(cwd, args, timeoutMs);
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
}

function runIn(cwd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn(schemathesis, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', fail);
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
  });
}

/** `GET /api/v1/jobs/runs/{id}` for Fastify's `/api/v1/jobs/runs/:id`. */
const openApiPath = (route: string) => route.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

describe('a fuzz run of the OpenAPI document', () => {
  it('answers no generated request with a 5xx', { timeout: 240_000 }, async (t) => {
    assert.ok(existsSync(schemathesis), `${schemathesis} is missing: run infra/tools/install-test-tools.sh`);
    await withBatchDatabases('api_fuzz', async ({ rt, rtUrl, whUrl, lakeDir }) => {
      // A little history for the batch view...
      await addCatalog(rt, 'p1', '2026-01-01T00:00:00Z', { price: 10, category: 'Books' });
      await addCatalog(rt, 'p2', '2026-01-01T00:00:00Z', { price: 25, category: 'Toys' });
      await addCatalog(rt, 'p2', '2026-03-01T00:00:00Z', { price: 30, category: 'Toys' });
      for (let i = 0; i < 12; i++) {
        const at = new Date(Date.UTC(2026, i % 11, 1 + i, 10)).toISOString();
        await addOrder(rt, {
          user: `u${i % 5}`,
          at,
          country: i % 2 ? 'US' : 'DE',
          lines: [
            ['p1', 1 + (i % 3), 10],
            ['p2', 1, 30],
          ],
        });
        await addView(rt, `u${i % 5}`, 'p1', at);
        await addCart(rt, `u${i % 5}`, 'p2', at, i % 4 ? 'add' : 'remove');
      }
      const config = loadConfig({
        REALTIME_DATABASE_URL: rtUrl,
        WAREHOUSE_DATABASE_URL: whUrl,
        LAKE_DIR: lakeDir,
        LOG_LEVEL: 'silent',
        API_KEYS: `${adminKey}:admin`,
        // A fuzzer is one client sending thousands of requests a minute: a 429 would hide the answers.
        API_RATE_LIMIT: '1000000',
      });
      await runJobs(config, 'all', { triggeredBy: 'test' });
      // ...and a speed view after it: orders of the last hour, not in the warehouse yet.
      for (let i = 0; i < 3; i++) {
        await addOrder(rt, { user: `u${i}`, at: new Date(Date.now() - i * 600_000).toISOString(), lines: [['p1', 2, 10]] });
      }

      const suffix = `.fuzz-${randomBytes(4).toString('hex')}`;
      const topics = allTopics.map((topic) => `${topic.name}${suffix}`);
      await createTestTopics(config, topics);
      // The trigger `lambdamart serve` injects: fuzzed job triggers run real batch jobs on these databases.
      const jobTrigger = batchJobTrigger(config, createLogger('batch-layer', 'silent'));
      try {
        await withListeningApi({ config, topicSuffix: suffix, jobTrigger }, async ({ app, url }) => {
          const document = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
          const documented = operationsOf(document);
          const run = await runSchemathesis(
            [
              'run',
              `${url}/openapi.json`,
              '--checks',
              'not_a_server_error',
              '--header',
              `X-API-Key: ${adminKey}`,
              '--max-examples',
              '15',
              '--seed',
              '20261204',
              '--workers',
              '2',
              '--request-timeout',
              '20',
              '--suppress-health-check',
              'all',
              '--generation-database',
              'none',
              '--no-color',
            ],
            150_000,
          );
          const tail = run.output.split('\n').slice(-80).join('\n');
          assert.equal(run.code, 0, `schemathesis found failures (exit ${run.code}):\n${tail}`);

          // The API's own count of what it answered: no 5xx, and every operation was exercised.
          const counted = (await app.apiMetrics.requests.get()).values;
          const serverErrors = counted.filter((v) => Number(v.labels.status_code) >= 500);
          assert.deepEqual(
            serverErrors.map((v) => `${v.labels.method} ${v.labels.route}: ${v.labels.status_code} x${v.value}`),
            [],
            'no 5xx in the API metrics',
          );
          const called = new Set(counted.map((v) => `${v.labels.method} ${openApiPath(String(v.labels.route))}`));
          const missed = documented.filter((operation) => !called.has(operation));
          assert.deepEqual(missed, [], `every operation was called (schemathesis output:\n${tail})`);
          const writesAccepted = counted.filter((v) => v.labels.method === 'POST' && Number(v.labels.status_code) < 300);
          // The documented example of each write is valid: both writes went through to Kafka and the batch runner.
          for (const route of ['/api/v1/events', '/api/v1/jobs/:job/runs']) {
            assert.ok(
              writesAccepted.some((v) => v.labels.route === route),
              `POST ${route} accepted at least one request with the admin key (accepted: ${writesAccepted.map((v) => v.labels.route).join(', ')})`,
            );
          }
          const total = counted.reduce((sum, v) => sum + v.value, 0);
          const byStatus = new Map<string, number>();
          for (const v of counted) byStatus.set(String(v.labels.status_code), (byStatus.get(String(v.labels.status_code)) ?? 0) + v.value);
          t.diagnostic(
            `${total} requests over ${documented.length} operations; by status: ${[...byStatus].map(([s, n]) => `${s} x${n}`).join(', ')}`,
          );
          t.diagnostic(`writes accepted: ${writesAccepted.map((v) => `${v.labels.route} ${v.labels.status_code} x${v.value}`).join(', ')}`);
          if (process.env.FUZZ_VERBOSE) t.diagnostic(run.output);
        });
      } finally {
        // Runs the fuzzer started finish (or roll back) before the databases are dropped.
        await jobTrigger.stop();
        await deleteTestTopics(config, topics);
      }
    });
  });
});
