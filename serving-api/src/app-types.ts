/** What buildApp wires in, and what the routes receive through decorators. */
import type { Config, EventProducer, Logger } from '@lambdamart/core';
import type { Counter, Histogram, Registry } from 'prom-client';
import type { ResponseCache } from './cache.ts';
import type { Databases } from './db.ts';
import type { KafkaClients } from './kafka.ts';

/**
 * How the API starts a batch job. The API never imports the batch layer (serving-api may import
 * core only): `lambdamart serve` injects this, built on the batch layer's runner.
 */
export interface JobTrigger {
  /** The job names POST /jobs/{job}/runs accepts. */
  jobs: readonly string[];
  /**
   * Starts the job in the background; resolves once it holds the job's lock and its run is
   * recorded (`started`), or at once when the job is already running (`running`).
   */
  trigger(
    job: string,
    options: { from?: string; to?: string; fullRefresh: boolean },
  ): Promise<{ started: true; runId: number } | { started: false }>;
}

export interface BuildAppOptions {
  config: Config;
  logger?: Logger;
  /** Job triggers; without one, POST /jobs/{job}/runs answers 503. */
  jobTrigger?: JobTrigger;
  /** Send ingested events to `<topic><suffix>` (tests own their topics). */
  topicSuffix?: string;
  /** A producer to use instead of one created from the config (connected lazily either way). */
  producer?: EventProducer;
  /** The savers' consumer group whose lag /pipeline/status reports (default `savers`). */
  consumerGroup?: string;
}

export interface ApiMetrics {
  registry: Registry;
  requests: Counter<'method' | 'route' | 'status_code'>;
  duration: Histogram<'method' | 'route' | 'status_code'>;
  cache: Counter<'result'>;
}

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    dbs: Databases;
    responseCache: ResponseCache;
    apiMetrics: ApiMetrics;
    appOptions: BuildAppOptions;
    kafka: KafkaClients;
    servedRoutes: readonly { method: string; url: string }[];
  }
}
