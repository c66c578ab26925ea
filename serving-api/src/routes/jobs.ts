/** Batch jobs: trigger a run (admin), list runs, one run. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiError, ErrorBody } from '../errors.ts';
import { sendAnswer } from '../respond.ts';
import { decodeCursor, FormatQuery, keysetPage, PageQuery, toIso } from '../schemas.ts';

const date = z.iso.date({ message: 'a date YYYY-MM-DD that exists' });

const TriggerBody = z
  .object({
    from: date.optional().describe('first event date to (re)process, inclusive; the watermark is left alone'),
    to: date.optional().describe('last event date to (re)process, inclusive (and the analytics "as of" date)'),
    full_refresh: z.boolean().default(false).describe('rebuild from the Parquet lake plus the unarchived realtime rows'),
  })
  // A misspelt field (fullRefresh) must not start a run without it.
  .strict()
  .refine((b) => !b.from || !b.to || b.from <= b.to, { message: 'from must not be after to', path: ['to'] })
  .default({ full_refresh: false });

const Run = z
  .object({
    run_id: z.number().int(),
    job: z.string(),
    status: z.enum(['running', 'succeeded', 'failed']),
    started_at: z.string(),
    finished_at: z.string().nullable(),
    rows_in: z.number().int().nullable(),
    rows_out: z.number().int().nullable(),
    error: z.string().nullable(),
    params: z.record(z.string(), z.unknown()),
    triggered_by: z.string(),
  })
  .meta({ id: 'JobRun' });

interface RunRow {
  run_id: number;
  job_name: string;
  status: 'running' | 'succeeded' | 'failed';
  started_at: Date;
  finished_at: Date | null;
  rows_in: number | null;
  rows_out: number | null;
  error: string | null;
  params: Record<string, unknown>;
  triggered_by: string;
}

const runColumns = 'run_id, job_name, status, started_at, finished_at, rows_in, rows_out, error, params, triggered_by';

const toRun = (r: RunRow) => ({
  run_id: r.run_id,
  job: r.job_name,
  status: r.status,
  started_at: toIso(r.started_at) ?? '',
  finished_at: toIso(r.finished_at),
  rows_in: r.rows_in,
  rows_out: r.rows_out,
  error: r.error,
  params: r.params ?? {},
  triggered_by: r.triggered_by,
});

export const jobsRoutes: FastifyPluginAsyncZod = async (app) => {
  const trigger = app.appOptions.jobTrigger;
  const jobNames = trigger?.jobs ?? [];
  const JobParam = jobNames.length ? z.enum(jobNames as [string, ...string[]]) : z.string().min(1).max(100);

  app.post(
    '/jobs/:job/runs',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['operations'],
        summary: 'Trigger a batch job (admin key): 202 with the run id, 409 while that job runs',
        params: z.object({ job: JobParam.describe('the batch job') }),
        body: TriggerBody,
        response: {
          202: z.object({ run_id: z.number().int(), job: z.string(), status: z.literal('running'), href: z.string() }),
          400: ErrorBody,
          401: ErrorBody,
          403: ErrorBody,
          409: ErrorBody,
          503: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      if (!trigger) {
        throw new ApiError(503, 'LM_ERR_API_NOT_CONFIGURED', 'this API process cannot start batch jobs; start it with `lambdamart serve`');
      }
      const { job } = request.params;
      const body = request.body ?? { full_refresh: false };
      const outcome = await trigger.trigger(job, { from: body.from, to: body.to, fullRefresh: body.full_refresh });
      if (!outcome.started) {
        throw new ApiError(409, 'LM_ERR_API_JOB_RUNNING', `batch job ${job} is already running; try again when it has finished`);
      }
      request.log.info({ job, runId: outcome.runId, key: request.apiKeyId }, 'batch job triggered');
      return reply
        .code(202)
        .header('location', `/api/v1/jobs/runs/${outcome.runId}`)
        .send({ run_id: outcome.runId, job, status: 'running' as const, href: `/api/v1/jobs/runs/${outcome.runId}` });
    },
  );

  app.get(
    '/jobs/runs',
    {
      schema: {
        tags: ['operations'],
        summary: 'Batch run history, newest first; filter by job and status',
        querystring: PageQuery.extend(FormatQuery.shape).extend({
          job: z.string().min(1).max(100).optional(),
          status: z.enum(['running', 'succeeded', 'failed']).optional(),
        }),
        response: { 200: z.object({ data: z.array(Run), next_cursor: z.string().nullable() }), 400: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const { job, status, limit, cursor } = request.query;
      const before = decodeCursor(cursor, z.object({ before: z.number().int() }));
      const rows = await app.dbs.warehouse.query<RunRow>(
        `select ${runColumns} from job_runs
         where ($1::text is null or job_name = $1) and ($2::text is null or status = $2) and ($3::bigint is null or run_id < $3)
         order by run_id desc limit $4`,
        [job ?? null, status ?? null, before?.before ?? null, limit + 1],
      );
      const body = keysetPage(rows.map(toRun), limit, (last) => ({ before: last.run_id }));
      return sendAnswer(request, reply, { body, maxAgeSeconds: 0, rows: () => body.data });
    },
  );

  app.get(
    '/jobs/runs/:id',
    {
      schema: {
        tags: ['operations'],
        summary: 'One batch run: status, rows in and out, error',
        params: z.object({ id: z.coerce.number().int().min(1).describe('the run id') }),
        response: { 200: Run, 400: ErrorBody, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => {
      const [row] = await app.dbs.warehouse.query<RunRow>(`select ${runColumns} from job_runs where run_id = $1`, [request.params.id]);
      if (!row) throw new ApiError(404, 'LM_ERR_API_NOT_FOUND', `no batch run ${request.params.id}`);
      return toRun(row);
    },
  );
};
