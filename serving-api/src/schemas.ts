/**
 * The query parameters the read routes share, as zod schemas: they validate requests and, through
 * @fastify/swagger, document them in /openapi.json.
 */
import { z } from 'zod';
import { ApiError } from './errors.ts';

const isoDate = /^\d{4}-\d{2}-\d{2}$/;

/** An ISO date (YYYY-MM-DD, the whole day) or an ISO timestamp with a time zone. */
const instant = z.string().refine(
  (value) =>
    /^\d{4}-/.test(value) &&
    value.slice(0, 4) >= '1900' &&
    value.slice(0, 4) <= '9998' &&
    // z.iso.date, not Date.parse: Date.parse reads 2026-02-30 as March 2.
    (isoDate.test(value) ? z.iso.date().safeParse(value).success : z.iso.datetime({ offset: true }).safeParse(value).success),
  { message: 'an ISO date (2026-11-21) or timestamp with a time zone (2026-11-21T10:00:00Z), in the years 1900-9998' },
);

export const RangeQuery = z.object({
  from: instant.optional().describe('start of the event-time range (inclusive); default: `to` minus 30 days'),
  to: instant.optional().describe('end of the event-time range (exclusive; a date means the end of that day); default: now'),
});

export interface TimeRange {
  from: Date;
  to: Date;
}

const day = 86_400_000;

/** The range of a request: a date `to` includes its whole day; defaults to the last 30 days. */
export function resolveRange(query: { from?: string; to?: string }, now = new Date(), defaultDays = 30): TimeRange {
  const to = query.to ? new Date(isoDate.test(query.to) ? Date.parse(`${query.to}T00:00:00Z`) + day : Date.parse(query.to)) : now;
  const from = query.from
    ? new Date(isoDate.test(query.from) ? `${query.from}T00:00:00Z` : query.from)
    : new Date(to.getTime() - defaultDays * day);
  if (from.getTime() >= to.getTime()) {
    const reason = 'must be after from';
    throw new ApiError(400, 'LM_ERR_API_VALIDATION', `invalid request: query.to: ${reason}`, [{ field: 'query.to', reason }]);
  }
  return { from, to };
}

export const SalesFiltersQuery = z.object({
  country: z.string().min(1).max(100).optional().describe('only orders from this country'),
  category: z.string().min(1).max(100).optional().describe('only lines of products in this category'),
  product_id: z.string().min(1).max(100).optional().describe('only lines of this product'),
  segment: z.string().min(1).max(100).optional().describe("only orders of customers in this segment (at the order's time)"),
});

export const SourceQuery = z.object({
  source: z
    .enum(['batch', 'speed', 'merged'])
    .optional()
    .describe('batch: the warehouse only; speed: only the realtime events the warehouse does not hold yet; merged (default): both'),
});

export const FormatQuery = z.object({
  format: z.enum(['json', 'csv']).optional().describe('csv: the rows as CSV (same as `Accept: text/csv`)'),
});

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('rows per page (1-1000)'),
  cursor: z.string().max(500).optional().describe('the `next_cursor` of the previous page'),
});

/** `sort=field` ascending or `sort=-field` descending, among `fields`. */
export function sortParam<F extends string>(fields: readonly [F, ...F[]], fallback: string) {
  const allowed = fields.flatMap((f) => [f, `-${f}`]) as [string, ...string[]];
  return z
    .enum(allowed)
    .default(fallback)
    .describe(`sort by one of ${fields.join(', ')}; a leading - sorts descending`);
}

export function parseSort<F extends string>(sort: string): { field: F; direction: 'asc' | 'desc' } {
  return sort.startsWith('-') ? { field: sort.slice(1) as F, direction: 'desc' } : { field: sort as F, direction: 'asc' };
}

export const MergeInfo = z.object({
  source: z.enum(['batch', 'speed', 'merged']).describe('which views the answer includes'),
  batch_until: z
    .string()
    .nullable()
    .describe('the facts watermark: the warehouse holds the events ingested up to here (null: no batch run yet)'),
  as_of: z.string().describe('when the answer was computed'),
});

export const Iso = z.string().describe('ISO-8601 timestamp, UTC');

/** An opaque cursor: base64url of JSON; a tampered one is a 400, never a 500. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<T>(cursor: string | undefined, schema: z.ZodType<T>): T | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through
  }
  throw new ApiError(400, 'LM_ERR_API_VALIDATION', 'invalid request: query.cursor: not a cursor this route gave', [
    { field: 'query.cursor', reason: 'not a cursor this route gave' },
  ]);
}

export const toIso = (value: Date | string | null | undefined): string | null =>
  value === null || value === undefined ? null : value instanceof Date ? value.toISOString() : new Date(value).toISOString();

export const toNumber = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));

/** A list answer's envelope. */
export const listOf = <T extends z.ZodType>(item: T, id: string) =>
  MergeInfo.extend({
    data: z.array(item),
    next_cursor: z.string().nullable().describe('pass as `cursor` for the next page; null on the last'),
  }).meta({
    id,
  });

const OffsetCursor = z.object({ o: z.number().int().min(0) });

/** Lists ordered by an aggregate page by position: the cursor holds the next offset. */
export function offsetOf(cursor: string | undefined): number {
  return decodeCursor(cursor, OffsetCursor)?.o ?? 0;
}

/** The page of `rows` (fetched with limit + 1) and the cursor of the next one. */
export function pageOf<T>(rows: T[], limit: number, offset: number): { data: T[]; next_cursor: string | null } {
  return { data: rows.slice(0, limit), next_cursor: rows.length > limit ? encodeCursor({ o: offset + limit }) : null };
}

/**
 * A keyset page: `rows` were read with `limit + 1`, so one more than the page says there is a next
 * page, whose cursor `cursorOf` makes from the page's last row.
 */
export function keysetPage<T>(
  rows: readonly T[],
  limit: number,
  cursorOf: (last: T) => unknown,
): { data: T[]; next_cursor: string | null } {
  const data = rows.slice(0, limit);
  const last = data.at(-1);
  return { data, next_cursor: rows.length > limit && last !== undefined ? encodeCursor(cursorOf(last)) : null };
}

/** The merge info of an answer read from the warehouse alone. */
export function batchInfo(batchUntil: Date | null) {
  return { source: 'batch' as const, batch_until: toIso(batchUntil), as_of: new Date().toISOString() };
}
