/** /health (liveness), /ready (both databases and Kafka), /metrics (Prometheus). */
import { within } from '@lambdamart/core';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';

const Component = z.object({ name: z.enum(['warehouse', 'realtime', 'kafka']), ok: z.boolean(), error: z.string().optional() });
const ReadyResponse = z.object({ status: z.enum(['ready', 'unavailable']), components: z.array(Component) }).meta({ id: 'Readiness' });

export const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/health',
    {
      config: { role: 'public' },
      schema: { tags: ['health'], summary: 'Liveness: the process answers', response: { 200: z.object({ status: z.literal('ok') }) } },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      config: { role: 'public' },
      schema: {
        tags: ['health'],
        summary: 'Readiness: both databases and Kafka reachable; 503 naming the one that is down',
        response: { 200: ReadyResponse, 503: ReadyResponse },
      },
    },
    async (_request, reply) => {
      const probe = async (name: 'warehouse' | 'realtime' | 'kafka', check: () => Promise<unknown>) => {
        try {
          await within(check(), 3000, name);
          return { name, ok: true };
        } catch {
          // The reason stays in the log: a probe's answer names what is down, not how.
          return { name, ok: false, error: `${name} is unreachable` };
        }
      };
      const components = await Promise.all([
        probe('warehouse', () => app.dbs.warehouse.pool.query('select 1')),
        probe('realtime', () => app.dbs.realtime.pool.query('select 1')),
        probe('kafka', async () => (await app.kafka.getAdmin()).describeCluster()),
      ]);
      const ready = components.every((c) => c.ok);
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', components });
    },
  );

  app.get(
    '/metrics',
    {
      config: { role: 'public' },
      schema: {
        tags: ['health'],
        summary: 'Prometheus metrics: requests and latency by route and status, cache hits',
        produces: ['text/plain'],
      },
    },
    async (_request, reply) => {
      reply.type(app.apiMetrics.registry.contentType);
      return app.apiMetrics.registry.metrics();
    },
  );
};
