/**
 * The advisory locks a job run holds in its warehouse transaction: one keyed by the job's name
 * (a second trigger is refused, or waits with `wait`) and shared or exclusive ones on the groups
 * of warehouse tables it reads or writes (so a dimensions run and a facts run never interleave).
 */
import { LambdamartError, type PoolClient } from '@lambdamart/core';

/** The advisory lock key of a job: stable across processes. */
export const lockKeySql = `hashtext('lambdamart.batch.' || $1)`;

/** The advisory lock key of a group of warehouse tables. */
export const tablesLockKeySql = `hashtext('lambdamart.batch.tables.' || $1)`;

/** Groups of warehouse tables that jobs lock, in the order they are locked (a fixed order: no deadlock). */
export const tableGroups = ['dimensions', 'facts'] as const;
export type TableGroup = (typeof tableGroups)[number];

/**
 * What each job does to each group: 'exclusive' when it writes them, 'shared' when it reads
 * them. dimensions rewrites the SCD2 versions and re-points the facts to them; facts joins the
 * versions it reads; analytics and quality read both. So a facts run never sees versions that a
 * dimensions run is rewriting, and a dimensions run re-points every fact loaded.
 */
export const tableLocks: Readonly<Record<string, Partial<Record<TableGroup, 'shared' | 'exclusive'>>>> = {
  dimensions: { dimensions: 'exclusive', facts: 'exclusive' },
  facts: { dimensions: 'shared', facts: 'exclusive' },
  analytics: { dimensions: 'shared', facts: 'shared' },
  quality: { dimensions: 'shared', facts: 'shared' },
};

/** Another trigger holds the job's lock, or the lock of tables it uses: trying later can succeed. */
export class JobLockedError extends LambdamartError {
  /**
   * `tables`: the tables another trigger's job holds (its name in `holders`, when known), when
   * the job itself is not running.
   */
  constructor(
    readonly job: string,
    readonly tables?: TableGroup,
    readonly holders: readonly string[] = [],
  ) {
    super(
      'LM_ERR_BATCH_JOB_LOCKED',
      tables
        ? `batch job ${job} cannot start: another trigger is running ${holders.length ? holders.join(', ') : 'a job'}, which uses ` +
            `the ${tables === 'dimensions' ? 'dimension' : 'fact'} tables ${job} ${tableLocks[job]?.[tables] === 'exclusive' ? 'writes' : 'reads'}; ` +
            'try again later or pass --wait'
        : `batch job ${job} is already running (another trigger holds its lock); try again later or pass --wait`,
    );
    this.name = 'JobLockedError';
  }
}

/**
 * Takes the job's lock, then its table locks in tableGroups order, in the transaction `wh` has
 * begun; waits for them with `wait`, else throws JobLockedError at the first one held elsewhere.
 */
export async function takeLocks(wh: PoolClient, job: string, wait: boolean): Promise<void> {
  const locks: { key: string; arg: string; shared: boolean; tables?: TableGroup }[] = [{ key: lockKeySql, arg: job, shared: false }];
  for (const tables of tableGroups) {
    const mode = tableLocks[job]?.[tables];
    if (mode) locks.push({ key: tablesLockKeySql, arg: tables, shared: mode === 'shared', tables });
  }
  for (const lock of locks) {
    const fn = `pg_${wait ? '' : 'try_'}advisory_xact_lock${lock.shared ? '_shared' : ''}`;
    const { rows } = await wh.query<{ locked: boolean | null }>(`select ${fn}(${lock.key})${wait ? ' is null' : ''} as locked`, [lock.arg]);
    if (wait || rows[0]?.locked) continue;
    if (!lock.tables) throw new JobLockedError(job);
    throw new JobLockedError(job, lock.tables, await runningUsersOf(wh, job, lock.tables));
  }
}

/** The jobs (other than `job`) recorded running that lock `tables` in a mode that conflicts with `job`'s. */
async function runningUsersOf(wh: PoolClient, job: string, tables: TableGroup): Promise<string[]> {
  const mine = tableLocks[job]?.[tables];
  const conflicting = Object.entries(tableLocks)
    .filter(([name, modes]) => name !== job && modes[tables] && (mine === 'exclusive' || modes[tables] === 'exclusive'))
    .map(([name]) => name);
  const { rows } = await wh.query<{ job_name: string }>(
    `select distinct job_name from job_runs where status = 'running' and job_name = any($1) order by job_name`,
    [conflicting],
  );
  return rows.map((r) => r.job_name);
}
