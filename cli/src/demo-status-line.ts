/**
 * The demo's status line, one sample at a time: events through each layer, the savers' lag
 * (Kafka's end offsets against consumer_offsets) and demo-status.ts's verdict from their /health.
 * The demo reads its own savers; demo-status.int.test.ts reads savers it stalls and kills.
 */
import type { Config, Pool } from '@lambdamart/core';
import { type SaverHealth, type SaverSample, type SaverVerdict, saverVerdict } from './demo-status.ts';
import { countRealtime, countWarehouse, saverLag } from './demo-summary.ts';

export interface PipelineCounts {
  sent: number;
  realtime: number;
  deadLetters: number;
  warehouse: number;
}

/** Events in each layer: raw rows in the realtime database and fact rows in the warehouse. */
export async function countPipeline(realtime: Pool, warehouse: Pool): Promise<Omit<PipelineCounts, 'sent'>> {
  const { saved, deadLetters } = await countRealtime(realtime);
  const { facts } = await countWarehouse(warehouse);
  return { realtime: saved, deadLetters, warehouse: facts };
}

export interface StatusSources {
  config: Config;
  realtime: Pool;
  warehouse: Pool;
  /** The savers' consumer group and the topics they read (default: the demo's). */
  group: string;
  topics?: readonly string[];
  /** What their /health says now; null when it does not answer. */
  health: () => SaverHealth | null | Promise<SaverHealth | null>;
  /** Why the savers are gone, once they are; null while they run. */
  exited: () => string | null;
  /** Events the generator has had acknowledged so far. */
  sent: () => number;
  /**
   * The layers' counts when the run began: the line shows this run's events, so that a stack that
   * kept an earlier run's rows does not read as events missing or dead-lettered now.
   */
  since?: Omit<PipelineCounts, 'sent'>;
}

export interface StatusLine {
  text: string;
  verdict: SaverVerdict;
  /** Null when the databases did not answer. */
  counts: PipelineCounts | null;
  lag: number;
}

/** A status line taker: each call samples now and judges against the previous call's sample. */
export function statusLine(sources: StatusSources): () => Promise<StatusLine> {
  let previous: SaverSample | null = null;
  const since = sources.since ?? { realtime: 0, deadLetters: 0, warehouse: 0 };
  return async () => {
    const counts = await countPipeline(sources.realtime, sources.warehouse)
      .then((c) => ({
        realtime: c.realtime - since.realtime,
        deadLetters: c.deadLetters - since.deadLetters,
        warehouse: c.warehouse - since.warehouse,
      }))
      .catch(() => null);
    const lag = await saverLag(sources.config, sources.realtime, sources.group, sources.topics).catch(() => Number.NaN);
    const health = await Promise.resolve()
      .then(() => sources.health())
      .catch(() => null);
    const sample: SaverSample = { lag, saved: (counts?.realtime ?? 0) + (counts?.deadLetters ?? 0), at: Date.now() };
    const verdict = saverVerdict(counts ? previous : null, sample, health, sources.exited());
    if (counts) previous = sample;
    const sent = sources.sent();
    const layers = counts
      ? `realtime ${counts.realtime}  dead letters ${counts.deadLetters}  warehouse ${counts.warehouse}`
      : 'realtime database not answering';
    return {
      text: `${new Date().toISOString()}  sent ${sent}  ${layers}  | ${verdict.text}`,
      verdict,
      counts: counts ? { sent, ...counts } : null,
      lag,
    };
  };
}
