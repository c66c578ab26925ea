/** Answer formats (JSON, or CSV on `?format=csv` / `Accept: text/csv`) and the caching headers. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CacheEntry } from './cache.ts';

export function wantsCsv(request: FastifyRequest): boolean {
  const format = (request.query as { format?: string } | undefined)?.format;
  if (format) return format === 'csv';
  const accept = request.headers.accept ?? '';
  return /\btext\/csv\b/i.test(accept) && !/\bapplication\/json\b/i.test(accept.split(',')[0] ?? '');
}

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\n\r]/.test(text) || /^[=+\-@]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** RFC 4180 CSV with a header row; the columns of the first row unless given. */
export function toCsv(rows: readonly Record<string, unknown>[], columns?: readonly string[]): string {
  const header = columns ?? Object.keys(rows[0] ?? {});
  const lines = [header.join(',')];
  for (const row of rows) lines.push(header.map((c) => csvCell(row[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

export interface Answer<B> {
  body: B;
  /** The rows a CSV answer holds (a list's rows; one row for a single figure set). */
  rows: () => readonly Record<string, unknown>[];
  columns?: readonly string[];
  /** How long clients and proxies may keep it (seconds). */
  maxAgeSeconds: number;
  /** The answer came from the in-process cache. */
  cacheHit?: boolean;
  /** The cache entry: a hit sends its JSON as it was first sent; a miss records it. */
  entry?: CacheEntry;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The cache entry whose JSON this answer should record (see recordSentJson). */
    cacheEntry?: CacheEntry;
  }
}

/**
 * Records the JSON and ETag an answer was sent with into its cache entry. Registered after
 * @fastify/etag (so the ETag is set) and before @fastify/compress (so the JSON is still text).
 */
export function recordSentJson(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    const entry = request.cacheEntry;
    if (entry && reply.statusCode === 200 && typeof payload === 'string' && entry.json === undefined) {
      entry.json = payload;
      entry.etag = String(reply.getHeader('etag') ?? '');
    }
    return payload;
  });
}

export function sendAnswer<B>(request: FastifyRequest, reply: FastifyReply, answer: Answer<B>): FastifyReply {
  // With keys configured, an answer is for the key holder only: shared caches must not keep it.
  const scope = request.apiRole ? 'private' : 'public';
  reply.header('cache-control', `${scope}, max-age=${answer.maxAgeSeconds}`);
  reply.header('vary', 'Accept, Authorization, X-API-Key');
  reply.header('x-cache', answer.cacheHit ? 'hit' : 'miss');
  if (wantsCsv(request)) {
    return reply.type('text/csv; charset=utf-8').send(toCsv(answer.rows(), answer.columns));
  }
  const entry = answer.entry;
  if (entry?.json !== undefined && entry.etag) {
    // Fastify sends a string as it is; @fastify/etag keeps an ETag already set (and answers 304).
    return reply.header('etag', entry.etag).type('application/json; charset=utf-8').send(entry.json);
  }
  if (entry) request.cacheEntry = entry;
  return reply.send(answer.body);
}
