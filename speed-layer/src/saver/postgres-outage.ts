/**
 * Postgres failures and outages: every Postgres operation of the savers runs through withPostgres,
 * which retries what can be retried (a failure's `retriable`, see retry.ts postgresFailure) and
 * throws the rest (a batch refused as data). An unreachable or unmigrated database pauses every
 * partition until a probe finds it back; a failure about one partition blocks only that one.
 */
import { describePostgresUrl, type PoolClient } from '@lambdamart/core';
import type { EachBatchPayload } from 'kafkajs';
import { backoffMs, describeError, postgresFailure, retryCause, sleep } from '../retry.ts';
import { block, keepBlockedPaused } from './blocked-partitions.ts';
import { startPositioning } from './fetch-loop.ts';
import { dropQueues } from './partition-queues.ts';
import type { SaverRuntime } from './runtime.ts';

/** Failures that make the whole database unusable (every partition waits), not one partition's batch. */
const WHOLE_DATABASE = new Set(['LM_ERR_POSTGRES_UNREACHABLE', 'LM_ERR_SPEED_NOT_MIGRATED']);

/**
 * Runs a Postgres operation until it succeeds. Not retriable (refused as data): thrown, for the
 * caller to set the events apart. Retriable: a write conflict is retried at once; otherwise a few
 * quick retries, then, for an unreachable or unmigrated database, every partition is paused and a
 * probe waits for Postgres (the batch is fetched again after); for any other failure (a
 * permission, a limit: SQLSTATE classes 42, 54...) the partition it is for is paused and retried
 * with backoff. Returns undefined when the batch was given up for now (stopping, or paused).
 */
export async function withPostgres<T>(
  rt: SaverRuntime,
  payload: EachBatchPayload | undefined,
  operation: (client: PoolClient) => Promise<T>,
  partition: { topic: string; partition: number },
): Promise<T | undefined> {
  for (let attempt = 0; ; attempt++) {
    if (rt.probing || (rt.stopping && attempt > 0)) return undefined;
    let client: PoolClient | undefined;
    try {
      client = await rt.pool.connect();
      // Staging tables are per session: every connection creates them before its first batch.
      if (!rt.preparedSessions.has(client)) {
        // A connection lost between two queries is reported as an 'error' event on the checked-out
        // client; without a listener that event would end the process. The next query fails and is retried.
        client.on('error', (error) => rt.logger.debug({ error: describeError(error) }, 'a PostgreSQL connection was lost'));
        await client.query(rt.sql.staging_tables);
        rt.preparedSessions.add(client);
      }
      const result = await operation(client);
      client.release();
      rt.metrics.postgresUp.set(1);
      return result;
    } catch (error) {
      const failure = postgresFailure(error);
      const conflict = failure.code === 'LM_ERR_SPEED_WRITE_CONFLICT';
      // A connection that failed is not reused: the next attempt opens a new one.
      client?.release(!failure.retriable || conflict ? undefined : true);
      if (!failure.retriable) throw failure;
      rt.metrics.retries.inc({ cause: retryCause(failure.code) });
      if (conflict) continue;
      const wholeDatabase = WHOLE_DATABASE.has(failure.code);
      if (wholeDatabase) rt.metrics.postgresUp.set(0);
      if (attempt >= 2 && wholeDatabase) {
        pauseUntilPostgresIsBack(rt, failure);
        return undefined;
      }
      if (attempt >= 2) {
        block(rt, partition.topic, partition.partition, 'postgres', failure);
        return undefined;
      }
      const wait = backoffMs(attempt);
      rt.logger.warn(
        { code: failure.code, error: failure.message, attempt: attempt + 1, retryInMs: wait },
        'saving a batch failed; retrying',
      );
      await sleep(wait, rt.abort.signal);
      await payload?.heartbeat().catch(() => undefined);
    }
  }
}

function pauseUntilPostgresIsBack(rt: SaverRuntime, failure: { code: string; message: string }): void {
  if (rt.probing || !rt.consumer) return;
  const consumer = rt.consumer;
  const all = [...rt.kindOf.keys()].map((topic) => ({ topic }));
  consumer.pause(all);
  rt.state = 'postgres-down';
  rt.postgresError = { code: failure.code, error: failure.message };
  rt.logger.error(
    { postgres: describePostgresUrl(rt.config.realtimeDatabaseUrl), code: failure.code, error: failure.message },
    'PostgreSQL is unreachable: partitions paused until it is back (nothing is lost, nothing is committed)',
  );
  rt.probing = waitForPostgres(rt).then(() => {
    rt.probing = null;
    if (rt.stopping) return;
    rt.positions.clear();
    dropQueues(rt);
    rt.state = 'consuming';
    consumer.resume(all);
    keepBlockedPaused(rt, consumer);
    startPositioning(rt);
    rt.logger.info('partitions resumed from the offsets in PostgreSQL');
  });
}

/** Waits until the realtime database answers and has its tables, saying why meanwhile (log and /health). */
export async function waitForPostgres(rt: SaverRuntime): Promise<void> {
  const where = describePostgresUrl(rt.config.realtimeDatabaseUrl);
  for (let attempt = 0; !rt.stopping; attempt++) {
    try {
      await rt.pool.query('select 1 from consumer_offsets limit 0');
      rt.metrics.postgresUp.set(1);
      rt.postgresError = null;
      if (attempt > 0) rt.logger.info({ postgres: where }, 'PostgreSQL is back');
      return;
    } catch (error) {
      rt.metrics.postgresUp.set(0);
      const wait = backoffMs(attempt, { maxMs: 5_000 });
      const failure = postgresFailure(error);
      rt.postgresError = { code: failure.code, error: failure.message };
      const message =
        failure.code === 'LM_ERR_SPEED_NOT_MIGRATED'
          ? 'the realtime database has no tables yet (run `lambdamart migrate`); waiting'
          : 'PostgreSQL is unreachable; waiting';
      rt.logger.warn({ postgres: where, code: failure.code, error: failure.message, retryInMs: wait }, message);
      await sleep(wait, rt.abort.signal);
    }
  }
}
