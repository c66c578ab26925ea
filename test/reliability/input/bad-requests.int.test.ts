/**
 * Every bad request of bad-requests.ts, sent over HTTP to the real API (temporary databases, its
 * own topics, real job triggers): each gets its documented status and error code, and nothing is
 * written: the row count of every table of both databases (job runs and idempotency keys among
 * them) and the messages in every topic the API sends to are the same after as before.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { batchJobTrigger } from '@lambdamart/cli/api-jobs';
import { allTopics, createLogger, loadConfig, type Pool } from '@lambdamart/core';
import { withApiDatabases } from '@lambdamart/serving-api/testing';
import { countMessages, createTestTopics, deleteTestTopics } from '@lambdamart/test-helpers';
import { withListeningApi } from '../../e2e/api-server.ts';
import { ADMIN_KEY, BAD_REQUESTS, type BadRequestCase, READ_KEY } from './bad-requests.ts';

/** Rows in every table of the public schema (partitions counted through their parents). */
const kafkaConfig = loadConfig();

async function rowCounts(pool: Pool): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ name: string }>(
    `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition order by 1`,
  );
  const counts: Record<string, number> = {};
  for (const { name } of rows) {
    const result = await pool.query<{ n: number }>(`select count(*)::int as n from "${name}"`);
    counts[name] = result.rows[0]?.n ?? 0;
  }
  return counts;
}

async function send(url: string, c: BadRequestCase): Promise<{ status: number; code: string; body: string }> {
  const headers: Record<string, string> = { ...c.headers };
  if (c.key === 'read') headers['x-api-key'] = READ_KEY;
  else if (c.key === 'admin') headers['x-api-key'] = ADMIN_KEY;
  else if (c.key !== 'none') headers['x-api-key'] = c.key.wrong;
  let body: string | undefined;
  if (c.body !== undefined) {
    body = typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${url}${c.path}`, { method: c.method, headers, body });
  const text = await response.text();
  let code = '';
  try {
    code = String((JSON.parse(text) as { code?: unknown }).code ?? '');
  } catch {
    // A CSV or an empty answer has no code.
  }
  return { status: response.status, code: response.status < 400 ? '' : code, body: text };
}

describe('bad requests to the API', { timeout: 180_000 }, () => {
  it('each gets its documented status and code, and nothing is written anywhere', async () => {
    assert.ok(BAD_REQUESTS.length >= 30, 'at least 30 bad requests');
    const suffix = `.rel-input-api-${randomBytes(4).toString('hex')}`;
    const topics = allTopics.map((t) => `${t.name}${suffix}`);
    await createTestTopics(kafkaConfig, topics);
    try {
      const env = { API_KEYS: `${READ_KEY}:read,${ADMIN_KEY}:admin`, API_RATE_LIMIT: '100000', API_CACHE: 'off' };
      await withApiDatabases('badrequests', env, async ({ config, rt, wh }) => {
        const jobTrigger = batchJobTrigger(config, createLogger('batch-layer', 'silent'));
        try {
          await withListeningApi({ config, topicSuffix: suffix, jobTrigger }, async ({ url }) => {
            const before = { realtime: await rowCounts(rt), warehouse: await rowCounts(wh) };
            const wrong: string[] = [];
            for (const [i, c] of BAD_REQUESTS.entries()) {
              const got = await send(url, c);
              if (got.status !== c.status || got.code !== c.code) {
                wrong.push(
                  `${i + 1} ${c.name}: got ${got.status} ${got.code}, documented ${c.status} ${c.code} (${got.body.slice(0, 200)})`,
                );
              }
            }
            assert.deepEqual(wrong, [], `requests answered otherwise than documented:\n${wrong.join('\n')}`);
            assert.deepEqual({ realtime: await rowCounts(rt), warehouse: await rowCounts(wh) }, before, 'no row written');
            assert.ok(
              'job_runs' in before.warehouse && 'api_idempotency_keys' in before.realtime,
              'job runs and idempotency keys are counted',
            );
            for (const topic of topics) assert.equal(await countMessages(config, topic), 0, `no message in ${topic}`);
          });
        } finally {
          await jobTrigger.stop();
        }
      });
    } finally {
      await deleteTestTopics(kafkaConfig, topics);
    }
  });
});
