/** What every batch job receives and returns. */
import type { Config, Logger, Pool, PoolClient } from '@lambdamart/core';

export type AnalyticsEngine = 'duckdb' | 'postgres';

export interface RunOptions {
  /** Rebuild from the whole raw history instead of the rows since the watermark. */
  fullRefresh?: boolean;
  /** Event-time range to (re)process, inclusive dates YYYY-MM-DD; the watermark is left alone. */
  from?: string;
  to?: string;
  /** How far before the watermark an incremental run looks again, for rows committed late. */
  lookbackMinutes?: number;
  /** Where the heavy analytics run (default DuckDB). */
  engine?: AnalyticsEngine;
  /** Wait for a running job to finish instead of refusing. */
  wait?: boolean;
  /** Who asked: 'cli', 'schedule', 'api', 'test'... recorded in job_runs. */
  triggeredBy?: string;
  logger?: Logger;
  /** Once aborted, no further job starts; the running one finishes (or rolls back). */
  signal?: AbortSignal;
  /** Called once a job holds its lock and its run is recorded in job_runs (the API answers 202 then). */
  onJobStarted?: (job: string, runId: number) => void;
  /** Called when a job finishes (for progress lines). */
  onJobFinished?: (report: JobReport) => void;
}

export interface JobContext {
  config: Config;
  /** The warehouse connection, inside the job's transaction (time zone UTC). */
  wh: PoolClient;
  /** A realtime connection in a repeatable-read, read-only transaction: one consistent snapshot. */
  rt: PoolClient;
  /** Autocommit warehouse connection, for records that must survive a rollback. */
  runId: number;
  options: RunOptions;
  logger: Logger;
  /** The job's watermark before this run (null on the first run or a full refresh). */
  watermark: Date | null;
  /** The watermark of another job, read in this transaction. */
  watermarkOf: (job: string) => Promise<Date | null>;
  recordOutside: (sql: string, values: unknown[]) => Promise<void>;
  /**
   * The batch pools, for work beside the job's transaction (parallel COPY, building a table that
   * is swapped in at commit). Anything written through them must be invisible until the job's
   * transaction commits, or harmless if the job fails.
   */
  pools: { realtime: Pool; warehouse: Pool };
}

export interface JobResult {
  rowsIn: number;
  rowsOut: number;
  /** The new watermark (undefined: unchanged). */
  watermark?: Date | null;
  details?: Record<string, unknown>;
}

export interface JobDefinition {
  name: string;
  description: string;
  dependsOn: readonly string[];
  run(ctx: JobContext): Promise<JobResult>;
}

export interface JobReport {
  job: string;
  runId: number;
  /** skipped: a job it depends on failed in the same run (error says which). */
  status: 'succeeded' | 'failed' | 'skipped';
  rowsIn: number;
  rowsOut: number;
  durationMs: number;
  error?: string;
  details?: Record<string, unknown>;
}
