/** GET /customers/segments, /rfm (by segment, by monetary value) and /rfm/{user_id}: the warehouse's analytics. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiError, ErrorBody } from '../errors.ts';
import { readFactsWatermark } from '../merge.ts';
import { cachedRead } from '../read.ts';
import { sendAnswer } from '../respond.ts';
import { batchInfo, decodeCursor, FormatQuery, keysetPage, listOf, PageQuery, parseSort, sortParam, toIso, toNumber } from '../schemas.ts';

const Segment = z.object({
  segment: z.string(),
  customers: z.number().int(),
  revenue: z.number(),
  average_order_value: z.number(),
  updated_at: z.string().nullable(),
});

const Rfm = z
  .object({
    user_id: z.string(),
    analysis_date: z.string(),
    recency_days: z.number().int(),
    frequency_count: z.number().int(),
    monetary_value: z.number(),
    recency_score: z.number().int(),
    frequency_score: z.number().int(),
    monetary_score: z.number().int(),
    segment: z.string(),
  })
  .meta({ id: 'Rfm' });

interface RfmRow {
  user_id: string;
  analysis_date: string;
  recency_days: number;
  frequency_count: number;
  monetary_value: string;
  recency_score: number;
  frequency_score: number;
  monetary_score: number;
  rfm_segment: string;
}

const toRfm = (r: RfmRow) => ({
  user_id: r.user_id,
  analysis_date: r.analysis_date,
  recency_days: r.recency_days,
  frequency_count: toNumber(r.frequency_count),
  monetary_value: toNumber(r.monetary_value),
  recency_score: r.recency_score,
  frequency_score: r.frequency_score,
  monetary_score: r.monetary_score,
  segment: r.rfm_segment,
});

const rfmColumns = `user_id, analysis_date::text as analysis_date, recency_days, frequency_count, monetary_value::text as monetary_value,
                    recency_score, frequency_score, monetary_score, rfm_segment`;

const segmentSort = {
  customers: 'customer_count',
  revenue: 'total_revenue',
  average_order_value: 'avg_order_value',
  segment: 'segment_name',
} as const;
type SegmentSort = keyof typeof segmentSort;

/** Keyset of the RFM list: (monetary_value desc, user_id). */
const RfmCursor = z.object({ m: z.string(), u: z.string() });

export const customersRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/customers/segments',
    {
      schema: {
        tags: ['analytics'],
        summary: 'Customer segments: customers, revenue and average order value per segment',
        querystring: FormatQuery.extend({
          segment: z.string().min(1).max(100).optional(),
          sort: sortParam(Object.keys(segmentSort) as [SegmentSort, ...SegmentSort[]], '-revenue'),
        }),
        response: { 200: listOf(Segment, 'CustomerSegments'), 400: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const { segment, sort } = request.query;
      const { field, direction } = parseSort<SegmentSort>(sort);
      const { value, hit, maxAgeSeconds, entry } = await cachedRead(app, request, false, async () =>
        app.dbs.warehouse.snapshot(async (wh) => {
          const batchUntil = await readFactsWatermark(wh);
          const { rows } = await wh.query<{
            segment_name: string;
            customer_count: number;
            total_revenue: string;
            avg_order_value: string;
            updated_at: Date;
          }>(
            `select segment_name, customer_count, total_revenue::text as total_revenue, avg_order_value::text as avg_order_value, updated_at
             from customer_segments where ($1::text is null or segment_name = $1)
             order by customer_segments.${segmentSort[field]} ${direction}, segment_name`,
            [segment ?? null],
          );
          const data = rows.map((r) => ({
            segment: r.segment_name,
            customers: toNumber(r.customer_count),
            revenue: toNumber(r.total_revenue),
            average_order_value: toNumber(r.avg_order_value),
            updated_at: toIso(r.updated_at),
          }));
          return { ...batchInfo(batchUntil), data, next_cursor: null };
        }),
      );
      return sendAnswer(request, reply, { body: value, maxAgeSeconds, cacheHit: hit, entry, rows: () => value.data });
    },
  );

  app.get(
    '/rfm',
    {
      schema: {
        tags: ['analytics'],
        summary: 'RFM scores of the latest analysis, highest monetary value first; filter by segment',
        querystring: PageQuery.extend(FormatQuery.shape).extend({
          segment: z.string().min(1).max(100).optional().describe("an RFM segment, e.g. Champions, At Risk, Can't Lose Them"),
        }),
        response: { 200: listOf(Rfm, 'RfmList'), 400: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const { segment, limit, cursor } = request.query;
      const after = decodeCursor(cursor, RfmCursor);
      const { value, hit, maxAgeSeconds, entry } = await cachedRead(app, request, false, async () =>
        app.dbs.warehouse.snapshot(async (wh) => {
          const batchUntil = await readFactsWatermark(wh);
          const { rows } = await wh.query<RfmRow>(
            `select ${rfmColumns} from rfm_analysis
             where analysis_date = (select max(analysis_date) from rfm_analysis)
               and ($1::text is null or rfm_segment = $1)
               and ($2::numeric is null or monetary_value < $2 or (monetary_value = $2 and user_id > $3::text))
             order by rfm_analysis.monetary_value desc, user_id
             limit $4`,
            [segment ?? null, after?.m ?? null, after?.u ?? null, limit + 1],
          );
          // The cursor keeps the exact numeric text of the last row, not its rounded number.
          const page = keysetPage(rows, limit, (last) => ({ m: last.monetary_value, u: last.user_id }));
          return { ...batchInfo(batchUntil), data: page.data.map(toRfm), next_cursor: page.next_cursor };
        }),
      );
      return sendAnswer(request, reply, { body: value, maxAgeSeconds, cacheHit: hit, entry, rows: () => value.data });
    },
  );

  app.get(
    '/rfm/:user_id',
    {
      schema: {
        tags: ['analytics'],
        summary: "One customer's RFM scores and segment (latest analysis); 404 for an unknown user",
        params: z.object({ user_id: z.string().min(1).max(100) }),
        response: { 200: Rfm, 400: ErrorBody, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const { user_id } = request.params;
      const { value, hit, maxAgeSeconds, entry } = await cachedRead(app, request, false, async () => {
        const [row] = await app.dbs.warehouse.query<RfmRow>(
          `select ${rfmColumns} from rfm_analysis where user_id = $1 order by analysis_date desc limit 1`,
          [user_id],
        );
        return row ? toRfm(row) : null;
      });
      if (!value) throw new ApiError(404, 'LM_ERR_API_NOT_FOUND', `no RFM scores for user ${user_id}`);
      return sendAnswer(request, reply, { body: value, maxAgeSeconds, cacheHit: hit, entry, rows: () => [value] });
    },
  );
};
