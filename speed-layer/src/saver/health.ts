/** The savers' /health report, from what the runtime knows. Pure. */
import type { HealthReport } from '../server.ts';
import type { BlockedPartition } from './blocked-partitions.ts';
import type { ConsumerCrash, SaverState } from './runtime.ts';

export interface HealthView {
  state: SaverState;
  group: string;
  assignment: Record<string, number[]>;
  saved: number;
  lastCommitAt: string | null;
  blocked: readonly BlockedPartition[];
  postgresError: { code: string; error: string } | null;
  lastCrash: ConsumerCrash | null;
  consumerRestarts: number;
}

/** Healthy only while consuming with no partition blocked; a blocked partition makes it `degraded`. */
export function healthReport(view: HealthView): HealthReport {
  const degraded = view.state === 'consuming' && view.blocked.length > 0;
  const waitingForPostgres = view.state === 'waiting-for-postgres' || view.state === 'postgres-down';
  return {
    healthy: view.state === 'consuming' && !degraded,
    state: degraded ? 'degraded' : view.state,
    group: view.group,
    assignment: view.assignment,
    savedEvents: view.saved,
    lastCommitAt: view.lastCommitAt,
    ...(waitingForPostgres && view.postgresError ? { postgres: view.postgresError } : {}),
    ...(view.blocked.length > 0 ? { blocked: view.blocked.map(({ timer, ...rest }) => rest) } : {}),
    ...(view.lastCrash ? { lastCrash: view.lastCrash, consumerRestarts: view.consumerRestarts } : {}),
  };
}
