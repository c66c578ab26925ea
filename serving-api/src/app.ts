/**
 * The whole REST API as one Fastify instance, listening on nothing: `server.ts` listens, tests
 * call `app.inject()`. Plugins: zod validation and serialization (the same schemas make
 * /openapi.json), Swagger UI at /docs, CORS, rate limit per key, compression, ETags, the read
 * cache invalidated by the batch runner's NOTIFY, Prometheus metrics.
 */

import compress from '@fastify/compress';
import cors from '@fastify/cors';
import etag from '@fastify/etag';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { createLogger, createMetricsRegistry } from '@lambdamart/core';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { Counter, Histogram } from 'prom-client';
import type { ApiMetrics, BuildAppOptions } from './app-types.ts';
import { authenticate, keyRing } from './auth.ts';
import { listenForBatchRuns, ResponseCache } from './cache.ts';
import { closeDatabases, openDatabases } from './db.ts';
import { errorBody, registerErrorHandlers } from './errors.ts';
import { KafkaClients } from './kafka.ts';
import { recordSentJson } from './respond.ts';
import { customersRoutes } from './routes/customers.ts';
import { dimensionsRoutes } from './routes/dimensions.ts';
import { eventsRoutes } from './routes/events.ts';
import { factsRoutes } from './routes/facts.ts';
import { healthRoutes } from './routes/health.ts';
import { jobsRoutes } from './routes/jobs.ts';
import { kpisRoutes } from './routes/kpis.ts';
import { pipelineRoutes } from './routes/pipeline.ts';
import { productsRoutes } from './routes/products.ts';
import { salesRoutes } from './routes/sales.ts';
import { trendsRoutes } from './routes/trends.ts';

export type { BuildAppOptions, JobTrigger } from './app-types.ts';

export const apiVersion = '1.0.0';

function createApiMetrics(): ApiMetrics {
  const registry = createMetricsRegistry('serving-api');
  const labelNames = ['method', 'route', 'status_code'] as const;
  return {
    registry,
    requests: new Counter({ name: 'lambdamart_api_requests_total', help: 'HTTP requests answered', labelNames, registers: [registry] }),
    duration: new Histogram({
      name: 'lambdamart_api_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    cache: new Counter({
      name: 'lambdamart_api_cache_total',
      help: 'Read-cache lookups by result (hit; miss: computed; shared: waited for a computation of the same key)',
      labelNames: ['result'],
      registers: [registry],
    }),
  };
}

export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { config } = options;
  const logger = options.logger ?? createLogger('serving-api', config.logLevel);
  const root = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Keys travel in headers, which Fastify's request log leaves out.
    bodyLimit: 4 * 1024 * 1024,
    trustProxy: false,
    routerOptions: { ignoreTrailingSlash: true },
  });
  const app = root.withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandlers(root);

  const dbs = openDatabases({ warehouse: config.warehouseDatabaseUrl, realtime: config.realtimeDatabaseUrl });
  const metrics = createApiMetrics();
  const cache = new ResponseCache({ enabled: config.api.cache }, metrics.cache);
  app.decorate('config', config);
  app.decorate('dbs', dbs);
  app.decorate('responseCache', cache);
  app.decorate('apiMetrics', metrics);
  app.decorate('appOptions', options);
  // Every route the app serves, for the test that the OpenAPI document lists them all.
  const served: { method: string; url: string }[] = [];
  app.decorate('servedRoutes', served);
  root.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') served.push({ method, url: route.url });
  });
  const kafka = new KafkaClients(config, logger, options.producer);
  app.decorate('kafka', kafka);
  app.decorateRequest('apiRole', null);
  app.decorateRequest('apiKeyId', null);

  const listener = config.api.cache
    ? listenForBatchRuns(dbs.warehouse.pool, logger, (notice) => {
        if (notice) logger.info({ job: notice.job, runId: notice.run_id }, 'batch run committed: read cache cleared');
        cache.clear();
      })
    : null;
  await listener?.ready;
  app.addHook('onClose', async () => {
    await listener?.close();
    await kafka.close();
    await closeDatabases(dbs);
  });

  // Authentication first: the rate limit counts by key, and the route says which role it needs.
  const ring = keyRing(config.api.keys);
  app.addHook('onRequest', async (request) => {
    // /api/v1 is read unless a route says otherwise; health, metrics and the docs are public.
    authenticate(ring, request, request.routeOptions.config?.role ?? (request.routeOptions.url?.startsWith('/api/') ? 'read' : 'public'));
  });
  app.addHook('onResponse', async (request, reply) => {
    const labels = { method: request.method, route: request.routeOptions.url ?? 'unknown', status_code: String(reply.statusCode) };
    metrics.requests.inc(labels);
    metrics.duration.observe(labels, reply.elapsedTime / 1000);
  });

  await app.register(cors, {
    origin: config.api.corsOrigins.includes('*') ? true : config.api.corsOrigins.length ? config.api.corsOrigins : false,
    exposedHeaders: ['etag', 'retry-after', 'x-cache'],
  });
  await app.register(rateLimit, {
    max: config.api.rateLimitPerMinute,
    timeWindow: 60_000,
    // Per key when one is sent (its id, never the key), else per client address.
    keyGenerator: (request) => (request.apiKeyId ? `key:${request.apiKeyId}` : `ip:${request.ip}`),
    allowList: (request) => ['/health', '/ready', '/metrics'].includes(request.routeOptions.url ?? ''),
    errorResponseBuilder: (_request, context) =>
      errorBody(
        429,
        'LM_ERR_API_RATE_LIMITED',
        `rate limit of ${context.max} requests per minute reached; retry in ${Math.ceil(context.ttl / 1000)} s`,
      ),
  });
  // ETags hash the JSON before compression (an ETag per representation the client can compare).
  await app.register(etag);
  recordSentJson(root);
  await app.register(compress, { global: true, threshold: 1024 });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Lambdamart API',
        version: apiVersion,
        description:
          'Sales analytics "as of now": the batch-built warehouse merged with the realtime speed view; batch job triggers; event ingestion. ' +
          'Reads are open unless API_KEYS is set; writes need an admin key (Authorization: Bearer KEY or X-API-Key: KEY).',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
      security: [{ bearer: [] }, { apiKey: [] }, {}],
      tags: [
        { name: 'sales', description: 'Merged batch + speed figures' },
        { name: 'analytics', description: 'Warehouse analytics (batch view)' },
        { name: 'warehouse', description: 'Dimensions and facts' },
        { name: 'operations', description: 'Batch jobs, pipeline status, ingestion' },
        { name: 'health', description: 'Liveness, readiness, metrics' },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: true } });
  app.get('/openapi.json', { schema: { hide: true }, config: { role: 'public' } }, async () => app.swagger());

  await app.register(healthRoutes);
  await app.register(
    async (v1) => {
      await v1.register(kpisRoutes);
      await v1.register(salesRoutes);
      await v1.register(productsRoutes);
      await v1.register(customersRoutes);
      await v1.register(trendsRoutes);
      await v1.register(dimensionsRoutes);
      await v1.register(factsRoutes);
      await v1.register(jobsRoutes);
      await v1.register(pipelineRoutes);
      await v1.register(eventsRoutes);
    },
    { prefix: '/api/v1' },
  );
  await app.ready();
  return root;
}
