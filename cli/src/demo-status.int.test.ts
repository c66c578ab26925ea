/**
 * The demo's status line (demo-status-line.ts, the code `lambdamart demo` prints every few
 * seconds) against real savers on the real Kafka and Postgres, in databases and topics of this
 * test's own: "keeping up" while they save; STALLED with the reason from their /health when
 * Postgres refuses INSERT on the raw tables, and keeping up again once it is granted back; EXITED
 * when the saver process is killed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger, loadConfig } from '@lambdamart/core';
import { withApiDatabases } from '@lambdamart/serving-api/testing';
import { type SaverTopics, sourceTopics, startSavers } from '@lambdamart/speed-layer';
import {
  cartEvent,
  createSaverTopics,
  deleteSaverTopics,
  healthOf,
  messagesOf,
  productView,
  randomSuffix,
  realtimeCounts,
  sendAll,
  spawnSaver,
  transaction,
  waitFor,
  withProducer,
} from '@lambdamart/speed-layer/testing';
import type { SaverHealth } from './demo-status.ts';
import { statusLine } from './demo-status-line.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rawTables = ['transactions', 'product_view_events', 'cart_events'];

describe("the demo's status line with real savers", { timeout: 150_000 }, () => {
  const suffix = randomSuffix('demo-status');
  let topics: SaverTopics;
  before(async () => {
    topics = await createSaverTopics(loadConfig(), suffix);
  });
  after(async () => {
    await deleteSaverTopics(loadConfig(), topics);
  });

  /** `count` events of the three kinds (a third each), numbered from `from`, sent to this test's topics. */
  async function send(config: ReturnType<typeof loadConfig>, from: number, count: number): Promise<void> {
    const seqs = Array.from({ length: count }, (_, i) => from + i);
    await withProducer(config, async (producer) => {
      await sendAll(
        producer,
        topics.transactions,
        messagesOf(
          seqs.filter((s) => s % 3 === 0).map((s) => transaction(s)),
          'user_id',
        ),
      );
      await sendAll(
        producer,
        topics.productViews,
        messagesOf(
          seqs.filter((s) => s % 3 === 1).map((s) => productView(s)),
          'user_id',
        ),
      );
      await sendAll(
        producer,
        topics.cartEvents,
        messagesOf(
          seqs.filter((s) => s % 3 === 2).map((s) => cartEvent(s)),
          'user_id',
        ),
      );
    });
  }
  const savedOf = (c: { transactions: number; views: number; carts: number; deadLetters: number }) =>
    c.transactions + c.views + c.carts + c.deadLetters;

  it("keeping up while saving; STALLED with /health's reason while Postgres refuses INSERT; keeping up once granted back", async () => {
    await withApiDatabases('demostatus', {}, async ({ rt, wh, rtUrl, whUrl }) => {
      const config = { ...loadConfig({ ...process.env, LOG_LEVEL: 'silent' }), realtimeDatabaseUrl: rtUrl, warehouseDatabaseUrl: whUrl };
      const group = `it-demo-status${suffix}`;
      const savers = await startSavers(config, { group, topics, metricsPort: 0, logger: createLogger('speed-layer', 'silent') });
      let exited: string | null = null;
      void savers.failed.then((error) => {
        exited = error.message;
      });
      let sent = 0;
      const sources = {
        config,
        realtime: rt,
        warehouse: wh,
        group,
        topics: sourceTopics(topics).map((t) => t.topic),
        health: () => savers.health(),
        exited: () => exited,
        sent: () => sent,
      };
      const take = statusLine(sources);
      try {
        // Normal: 900 events saved between two samples.
        await take();
        await send(config, 0, 900);
        sent = 900;
        await waitFor(
          () => realtimeCounts(rt),
          (c) => savedOf(c) >= 900,
          30_000,
        );
        await sleep(1_100);
        const ok = await take();
        assert.equal(ok.verdict.state, 'keeping up', ok.text);
        assert.match(
          ok.text,
          /sent 900 {2}realtime 900 {2}dead letters 0 {2}warehouse 0 {2}\| savers keeping up, lag 0, saving [1-9][\d,]*\/s$/,
        );

        // Postgres refuses INSERT on every raw table (42501, as a full disk would refuse them): nothing is saved.
        for (const table of rawTables) await rt.query(`revoke insert on ${table} from current_user`);
        await send(config, 900, 1_500);
        sent = 2_400;
        const blocked = await waitFor(
          async () => savers.health(),
          (h) => Array.isArray(h.blocked) && h.blocked.length === 9,
          30_000,
        );
        assert.equal((blocked.blocked as unknown[] | undefined)?.length, 9, JSON.stringify(blocked));
        await take();
        await sleep(2_100);
        const stalled = await take();
        assert.equal(stalled.verdict.state, 'stalled', stalled.text);
        assert.match(
          stalled.text,
          /\| savers STALLED: nothing saved in [23] s, lag 1,500 messages waiting \(state degraded; blocked [^:]+: permission denied for table (transactions|product_view_events|cart_events) \(42501\)\)$/,
        );

        // Granted back: all saved once, and the line says so.
        for (const table of rawTables) await rt.query(`grant insert on ${table} to current_user`);
        const counts = await waitFor(
          () => realtimeCounts(rt),
          (c) => savedOf(c) >= 2_400,
          60_000,
        );
        assert.equal(savedOf(counts), 2_400);
        await waitFor(
          async () => savers.health(),
          (h) => h.healthy,
          15_000,
        );
        const back = await take();
        assert.equal(back.verdict.state, 'keeping up', back.text);
        assert.match(back.text, /sent 2400 {2}realtime 2400 .*\| savers keeping up, lag 0, saving [1-9][\d,]*\/s$/);

        // A run that began after the first 900 (the demo on a stack that kept them) counts its own.
        const laterRun = await statusLine({
          ...sources,
          sent: () => sent - 900,
          since: { realtime: 900, deadLetters: 0, warehouse: 0 },
        })();
        assert.match(laterRun.text, /sent 1500 {2}realtime 1500 {2}dead letters 0 {2}warehouse 0 {2}\|/);
      } finally {
        await savers.stop();
      }
    });
  });

  it('EXITED when the saver process is killed (kill -9)', async () => {
    await withApiDatabases('demostatus_kill', {}, async ({ rt, wh, rtUrl, whUrl }) => {
      const config = { ...loadConfig({ ...process.env, LOG_LEVEL: 'silent' }), realtimeDatabaseUrl: rtUrl, warehouseDatabaseUrl: whUrl };
      const group = `it-demo-status-kill${suffix}`;
      const saver = await spawnSaver({ databaseUrl: rtUrl, group, topicSuffix: suffix });
      let exited: string | null = null;
      void saver.exited.then(({ code, signal }) => {
        exited = signal ? `the saver process was killed (${signal})` : `the saver process exited with code ${code}`;
      });
      const take = statusLine({
        config,
        realtime: rt,
        warehouse: wh,
        group,
        topics: sourceTopics(topics).map((t) => t.topic),
        health: async (): Promise<SaverHealth> => {
          const { body } = await healthOf(saver);
          return { ...body, healthy: body.healthy === true };
        },
        exited: () => exited,
        sent: () => 0,
      });
      try {
        const up = await waitFor(
          () => healthOf(saver).catch(() => ({ status: 0, body: {} })),
          (h) => h.status === 200,
          30_000,
        );
        assert.equal(up.status, 200, JSON.stringify(up.body));
        const running = await take();
        assert.notEqual(running.verdict.state, 'exited', running.text);
        saver.child.kill('SIGKILL');
        await saver.exited;
        const gone = await take();
        assert.equal(gone.verdict.state, 'exited', gone.text);
        assert.match(gone.text, /\| savers EXITED: the saver process was killed \(SIGKILL\)$/);
      } finally {
        if (saver.child.exitCode === null && saver.child.signalCode === null) saver.child.kill('SIGKILL');
        await saver.exited;
      }
    });
  });
});
