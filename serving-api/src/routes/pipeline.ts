/**
 * GET /api/v1/pipeline/status: consumer lag per topic and partition (Kafka's end offsets against
 * the savers' consumer_offsets, which they commit with the rows), last run of each job,
 * watermarks, dead letters in the last hour with their latest reasons.
 */
import { eventTopics, partitionBounds, Topics, within } from '@lambdamart/core';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorBody } from '../errors.ts';
import { toIso } from '../schemas.ts';

const StatusResponse = z
  .object({
    as_of: z.string(),
    kafka: z.object({ reachable: z.boolean(), error: z.string().optional() }),
    consumer_lag: z.array(
      z.object({
        topic: z.string(),
        partition: z.number().int(),
        end_offset: z.number().int().nullable(),
        committed_offset: z.number().int().nullable(),
        lag: z.number().int().nullable(),
      }),
    ),
    jobs: z.array(
      z.object({
        job: z.string(),
        run_id: z.number().int(),
        status: z.string(),
        started_at: z.string(),
        finished_at: z.string().nullable(),
        error: z.string().nullable(),
      }),
    ),
    watermarks: z.array(z.object({ job: z.string(), watermark: z.string(), updated_at: z.string() })),
    dead_letters_last_hour: z.object({
      count: z.number().int(),
      latest: z.array(z.object({ source_topic: z.string(), reason: z.string(), ingested_at: z.string() })),
    }),
  })
  .meta({ id: 'PipelineStatus' });

export const pipelineRoutes: FastifyPluginAsyncZod = async (app) => {
  const group = app.appOptions.consumerGroup ?? 'savers';
  const suffix = app.appOptions.topicSuffix ?? '';
  const topics = [...eventTopics, Topics.productCatalog].map((t) => t.name + suffix);

  app.get(
    '/pipeline/status',
    {
      schema: {
        tags: ['operations'],
        summary: 'Consumer lag per topic and partition, last run of each job, watermarks, dead letters of the last hour',
        response: { 200: StatusResponse, 503: ErrorBody },
      },
    },
    async () => {
      const committed = await app.dbs.realtime.query<{ topic: string; partition: number; next_offset: number }>(
        'select topic, partition, next_offset from consumer_offsets where group_id = $1 and topic = any($2::text[])',
        [group, topics],
      );
      const kafka: { reachable: boolean; error?: string } = { reachable: true };
      const ends = new Map<string, number>();
      try {
        const admin = await within(app.kafka.getAdmin(), 3000, 'Kafka');
        for (const p of await partitionBounds(admin, topics, 3000)) ends.set(`${p.topic}:${p.partition}`, Number(p.high));
      } catch {
        kafka.reachable = false;
        kafka.error = 'Kafka is unreachable: lag unknown';
      }
      const keys = new Set([...ends.keys(), ...committed.map((c) => `${c.topic}:${c.partition}`)]);
      const consumer_lag = [...keys]
        .map((k) => {
          const at = k.lastIndexOf(':');
          const topic = k.slice(0, at);
          const partition = Number(k.slice(at + 1));
          const end = ends.get(k) ?? null;
          const done = committed.find((c) => c.topic === topic && c.partition === partition)?.next_offset ?? null;
          return { topic, partition, end_offset: end, committed_offset: done, lag: end === null ? null : end - (done ?? 0) };
        })
        .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);

      const jobs = await app.dbs.warehouse.query<{
        job_name: string;
        run_id: number;
        status: string;
        started_at: Date;
        finished_at: Date | null;
        error: string | null;
      }>(
        `select distinct on (job_name) job_name, run_id, status, started_at, finished_at, error
         from job_runs order by job_name, run_id desc`,
      );
      const watermarks = await app.dbs.warehouse.query<{ job_name: string; watermark: Date; updated_at: Date }>(
        'select job_name, watermark, updated_at from etl_watermarks order by job_name',
      );
      const [dead] = await app.dbs.realtime.query<{ n: number }>(
        `select count(*) as n from dead_letters where ingested_at > now() - interval '1 hour'`,
      );
      const latest = await app.dbs.realtime.query<{ source_topic: string; reason: string; ingested_at: Date }>(
        `select source_topic, reason, ingested_at from dead_letters where ingested_at > now() - interval '1 hour'
         order by ingested_at desc, dead_letter_id desc limit 10`,
      );
      return {
        as_of: new Date().toISOString(),
        kafka,
        consumer_lag,
        jobs: jobs.map((j) => ({
          job: j.job_name,
          run_id: j.run_id,
          status: j.status,
          started_at: toIso(j.started_at) ?? '',
          finished_at: toIso(j.finished_at),
          error: j.error,
        })),
        watermarks: watermarks.map((w) => ({
          job: w.job_name,
          watermark: toIso(w.watermark) ?? '',
          updated_at: toIso(w.updated_at) ?? '',
        })),
        dead_letters_last_hour: {
          count: dead?.n ?? 0,
          latest: latest.map((d) => ({ source_topic: d.source_topic, reason: d.reason, ingested_at: toIso(d.ingested_at) ?? '' })),
        },
      };
    },
  );
};
