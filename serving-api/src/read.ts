/** Cached reads: the key is the route and its query (without the format), the TTL by source. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type CacheEntry, CacheTtl } from './cache.ts';
import type { BatchSideCache } from './merge.ts';

function cacheKey(request: FastifyRequest): string {
  const { format: _format, ...query } = (request.query ?? {}) as Record<string, unknown>;
  const params = (request.params ?? {}) as Record<string, unknown>;
  const sorted = (o: Record<string, unknown>) =>
    Object.keys(o)
      .sort()
      .map((k) => `${k}=${JSON.stringify(o[k])}`)
      .join('&');
  return `${request.routeOptions.url}|${sorted(params)}|${sorted(query)}`;
}

/**
 * `compute()`'s answer through the cache: warehouse-only answers until the next batch run,
 * answers that include the speed view for a few seconds.
 */
export async function cachedRead<T>(
  app: FastifyInstance,
  request: FastifyRequest,
  includesSpeed: boolean,
  compute: () => Promise<T>,
): Promise<{ value: T; hit: boolean; maxAgeSeconds: number; entry: CacheEntry<T> }> {
  const ttl = includesSpeed ? CacheTtl.speedMs : CacheTtl.batchMs;
  const { entry, hit } = await app.responseCache.through(cacheKey(request), ttl, compute);
  // Clients may keep a batch answer a minute (a run may land any time), a speed answer a few seconds.
  return { value: entry.value, entry, hit, maxAgeSeconds: includesSpeed ? Math.round(CacheTtl.speedMs / 1000) : 60 };
}

/**
 * Where a merged answer keeps its batch side until the next batch run: a merged answer lives
 * only seconds, but its batch side (the expensive part) stays right until a run publishes new
 * facts, so a recomputation reads only the speed side (merge.ts says why that stays exact).
 */
export function batchSideCache<B>(app: FastifyInstance, request: FastifyRequest): BatchSideCache<B> | undefined {
  return app.responseCache.versioned<B>(`batch-side|${cacheKey(request)}`);
}
