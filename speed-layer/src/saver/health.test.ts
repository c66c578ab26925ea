import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BlockedPartition } from './blocked-partitions.ts';
import { type HealthView, healthReport } from './health.ts';

const view = (over: Partial<HealthView> = {}): HealthView => ({
  state: 'consuming',
  group: 'g',
  assignment: { views: [0, 1] },
  saved: 7,
  lastCommitAt: null,
  blocked: [],
  postgresError: null,
  lastCrash: null,
  consumerRestarts: 0,
  ...over,
});

const blocked: BlockedPartition = {
  topic: 'views',
  partition: 0,
  cause: 'postgres',
  code: 'LM_ERR_SPEED_POSTGRES_REFUSED',
  reason: 'permission denied (42501)',
  since: '2026-01-01T00:00:00.000Z',
  attempts: 2,
  retryAt: '2026-01-01T00:00:02.000Z',
  timer: undefined,
};

describe('saver health report', () => {
  it('healthy only while consuming with nothing blocked', () => {
    assert.deepEqual(healthReport(view()), {
      healthy: true,
      state: 'consuming',
      group: 'g',
      assignment: { views: [0, 1] },
      savedEvents: 7,
      lastCommitAt: null,
    });
    for (const state of ['waiting-for-postgres', 'connecting-to-kafka', 'restarting', 'postgres-down', 'failed'] as const) {
      assert.equal(healthReport(view({ state })).healthy, false, state);
    }
  });

  it('a blocked partition: degraded, listed with its code and reason, without its timer', () => {
    const report = healthReport(view({ blocked: [blocked] }));
    assert.equal(report.healthy, false);
    assert.equal(report.state, 'degraded');
    const { timer, ...listed } = blocked;
    assert.deepEqual(report.blocked, [listed]);
  });

  it('says why it waits for Postgres only while it waits', () => {
    const postgresError = { code: 'LM_ERR_SPEED_NOT_MIGRATED', error: 'relation "consumer_offsets" does not exist (42P01)' };
    assert.deepEqual(healthReport(view({ state: 'waiting-for-postgres', postgresError })).postgres, postgresError);
    assert.deepEqual(healthReport(view({ state: 'postgres-down', postgresError })).postgres, postgresError);
    assert.equal(healthReport(view({ postgresError })).postgres, undefined);
  });

  it('a crash shows with the restarts in a row', () => {
    const lastCrash = { code: 'LM_ERR_SPEED_CONSUMER_CRASHED', error: 'x', at: 't', restartedBy: 'savers' } as const;
    const report = healthReport(view({ state: 'restarting', lastCrash, consumerRestarts: 2 }));
    assert.deepEqual([report.lastCrash, report.consumerRestarts], [lastCrash, 2]);
  });
});
