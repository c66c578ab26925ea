/**
 * `lambdamart serve` and the job trigger it wires into the API: POST /jobs/{job}/runs starts a
 * real batch run (202, its id), 409 while the job's lock is held, and the run is then listed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { createLogger } from '@lambdamart/core';
import { insertOrder, json, withApiDatabases, withApp } from '@lambdamart/serving-api/testing';
import { batchJobTrigger } from './api-jobs.ts';

const admin = 'admin-key-0123456789abcdef';

describe('lambdamart serve', () => {
  it('triggers batch jobs: 202 with the run id, 409 while the job runs, then the run in the history', async () => {
    await withApiDatabases('api_jobs', { API_KEYS: `${admin}:admin` }, async ({ config, rt, wh }) => {
      await insertOrder(rt, { user: 'u1', at: '2026-11-20T10:00:00Z', lines: [['p1', 1, 10]] });
      const jobTrigger = batchJobTrigger(config, createLogger('batch-layer', 'silent'));
      try {
        await withApp({ config, jobTrigger }, async (app) => {
          const post = (job: string, payload: object = {}) =>
            app.inject({ method: 'POST', url: `/api/v1/jobs/${job}/runs`, headers: { 'x-api-key': admin }, payload });
          const started = await post('facts');
          assert.equal(started.statusCode, 202, started.body);
          const runId = json<{ run_id: number }>(started).run_id;
          assert.ok(runId > 0);
          assert.equal(started.headers.location, `/api/v1/jobs/runs/${runId}`);

          // Wait for it to finish; its record says so.
          let run = json<{ status: string; rows_out: number | null }>(
            await app.inject({ url: `/api/v1/jobs/runs/${runId}`, headers: { 'x-api-key': admin } }),
          );
          for (let i = 0; i < 100 && run.status === 'running'; i++) {
            await new Promise((r) => setTimeout(r, 100));
            run = json(await app.inject({ url: `/api/v1/jobs/runs/${runId}`, headers: { 'x-api-key': admin } }));
          }
          assert.equal(run.status, 'succeeded');
          assert.equal(run.rows_out, 1);

          // While another process holds the job's lock (a run in progress), a trigger is refused.
          const holder = await wh.connect();
          await holder.query('begin');
          await holder.query(`select pg_advisory_xact_lock(hashtext('lambdamart.batch.' || $1))`, ['facts']);
          const busy = await post('facts');
          await holder.query('rollback');
          holder.release();
          assert.equal(busy.statusCode, 409, busy.body);
          assert.equal(json(busy).code, 'LM_ERR_API_JOB_RUNNING');

          assert.equal((await post('nope')).statusCode, 400);
          assert.equal((await post('facts', { from: '2026-11-21', to: '2026-11-20' })).statusCode, 400);
          assert.equal((await post('facts', { full_refresh: 'yes' })).statusCode, 400);

          const runs = json<{ data: { run_id: number; job: string; triggered_by: string }[] }>(
            await app.inject({ url: '/api/v1/jobs/runs?job=facts&status=succeeded', headers: { 'x-api-key': admin } }),
          );
          assert.deepEqual(
            runs.data.map((r) => [r.run_id, r.job, r.triggered_by]),
            [[runId, 'facts', 'api']],
          );
          assert.equal((await app.inject({ url: '/api/v1/jobs/runs/999999', headers: { 'x-api-key': admin } })).statusCode, 404);
          assert.equal((await app.inject({ url: '/api/v1/jobs/runs/abc', headers: { 'x-api-key': admin } })).statusCode, 400);
        });
      } finally {
        await jobTrigger.stop();
      }
    });
  });

  it('listens, prints its URLs and exits 0 on SIGTERM', async () => {
    await withApiDatabases('api_serve', {}, async ({ config }) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', resolve(import.meta.dirname, 'main.ts'), 'serve', '--port', '0', '--host', '127.0.0.1'],
        {
          env: {
            ...process.env,
            REALTIME_DATABASE_URL: config.realtimeDatabaseUrl,
            WAREHOUSE_DATABASE_URL: config.warehouseDatabaseUrl,
            LOG_LEVEL: 'warn',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      child.stdout.on('data', (chunk) => {
        out += chunk;
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const deadline = Date.now() + 30_000;
      while (!/Swagger UI: (\S+)/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const base = /API listening on (http:\/\/[^/\s]+)/.exec(out)?.[1];
      assert.ok(base, `printed its URL:\n${out}`);
      assert.match(out, /Swagger UI: http:\/\/127\.0\.0\.1:\d+\/docs/);
      assert.equal((await fetch(`${base}/health`)).status, 200);
      assert.equal((await fetch(`${base}/openapi.json`)).status, 200);
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    });
  });
});
