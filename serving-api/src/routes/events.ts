/**
 * POST /api/v1/events: for stores that do not speak Kafka. One event or a JSON array of up to
 * 1,000, each validated with core's contracts; 202 only once Kafka acknowledged them all (acks=all). Any invalid event: 400 naming the index and field of each problem, and
 * nothing is sent. An Idempotency-Key makes a retried request harmless (see
 * 0003_api_idempotency.up.sql); downstream, the savers' primary keys on event ids do the same.
 */
import { createHash } from 'node:crypto';
import { type EventKind, EventSchemas, type TopicSpec, Topics, within } from '@lambdamart/core';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiError, ErrorBody, type FieldProblem, isDatabaseUnavailable } from '../errors.ts';

const maxEvents = 1000;

const topicOf: Record<EventKind, TopicSpec> = {
  transaction: Topics.transactions,
  view: Topics.productViews,
  cart: Topics.cartEvents,
  catalog: Topics.productCatalog,
};

const AnyEvent = z
  .record(z.string(), z.unknown())
  .describe(
    'a transaction (has transaction_id), a product view (event_type "view"), a cart event (event_type "add" or "remove") or a catalog record (has updated_at): the contracts of core/src/events.ts',
  );

/** A valid transaction: the docs show it, and a fuzzer's example phase sends it. */
const exampleTransaction = {
  transaction_id: '7d1f1c1e-2f0a-4b8e-9a51-3f4f2f6f0a11',
  user_id: 'user_0042',
  session_id: 'session_0042_1',
  products: [
    { product_id: 'prod_0007', quantity: 2, price: 19.99 },
    { product_id: 'prod_0112', quantity: 1, price: 5.5 },
  ],
  total_amount: 45.48,
  currency: 'USD',
  payment_method: 'credit_card',
  country: 'US',
  transaction_timestamp: '2026-11-20T10:15:30.000Z',
};

const IngestBody = z.union([AnyEvent, z.array(AnyEvent).min(1).max(maxEvents)]).meta({ examples: [exampleTransaction] });

const IngestResponse = z
  .object({
    accepted: z.number().int(),
    by_kind: z.record(z.string(), z.number().int()),
    idempotency_key: z.string().nullable(),
    replayed: z.boolean().describe('true: this Idempotency-Key was seen before; nothing was sent again'),
  })
  .meta({ id: 'IngestResult' });

/** Which contract an event claims to follow, from its shape. */
export function eventKindOf(event: Record<string, unknown>): EventKind | null {
  if ('transaction_id' in event) return 'transaction';
  if (event.event_type === 'view') return 'view';
  if (event.event_type === 'add' || event.event_type === 'remove') return 'cart';
  if ('updated_at' in event && 'name' in event) return 'catalog';
  return null;
}

function fieldOf(index: number, path: PropertyKey[]): string {
  return `body[${index}]${path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}`;
}

export interface ValidatedEvents {
  events: { kind: EventKind; value: Record<string, unknown> }[];
  problems: FieldProblem[];
}

export function validateEvents(events: Record<string, unknown>[]): ValidatedEvents {
  const valid: ValidatedEvents['events'] = [];
  const problems: FieldProblem[] = [];
  for (const [index, event] of events.entries()) {
    const kind = eventKindOf(event);
    if (!kind) {
      problems.push({
        index,
        field: `body[${index}]`,
        reason: 'not an event: expected transaction_id, event_type view|add|remove, or a catalog record (name, updated_at)',
      });
      continue;
    }
    const parsed = EventSchemas[kind].safeParse(event);
    if (parsed.success) valid.push({ kind, value: parsed.data as Record<string, unknown> });
    else for (const issue of parsed.error.issues) problems.push({ index, field: fieldOf(index, issue.path), reason: issue.message });
  }
  return { events: valid, problems };
}

export const eventsRoutes: FastifyPluginAsyncZod = async (app) => {
  const suffix = app.appOptions.topicSuffix ?? '';
  const rt = app.dbs.realtime;

  app.post(
    '/events',
    {
      config: { role: 'admin' },
      bodyLimit: 8 * 1024 * 1024,
      schema: {
        tags: ['operations'],
        summary: 'Send events (one, or an array of up to 1,000) to Kafka; 202 once Kafka acknowledged them',
        headers: z.object({
          'idempotency-key': z
            .string()
            .min(1)
            .max(200)
            .optional()
            .describe('a retry with the same key and body is answered again, not resent'),
        }),
        body: IngestBody,
        response: { 202: IngestResponse, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 409: ErrorBody, 422: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const list = Array.isArray(request.body) ? request.body : [request.body];
      const { events, problems } = validateEvents(list);
      if (problems.length) {
        const summary = problems
          .slice(0, 5)
          .map((p) => `${p.field}: ${p.reason}`)
          .join('; ');
        throw new ApiError(400, 'LM_ERR_API_EVENT_INVALID', `${problems.length} problem(s) in the events, none sent: ${summary}`, problems);
      }
      const key = request.headers['idempotency-key'] ?? null;
      const hash = createHash('sha256').update(JSON.stringify(request.body)).digest('hex');
      if (key) {
        // Claim the key; a repeat finds the first request's row. A claim left unanswered for a
        // minute is a request that died mid-send (a crash): the same body may claim it again.
        await rt.query(`delete from api_idempotency_keys where created_at < now() - interval '1 day'`);
        const claimed = await rt.query(
          `insert into api_idempotency_keys (idempotency_key, request_hash) values ($1, $2)
           on conflict (idempotency_key) do update set created_at = now()
           where api_idempotency_keys.response is null and api_idempotency_keys.request_hash = excluded.request_hash
             and api_idempotency_keys.created_at < now() - interval '1 minute'
           returning idempotency_key`,
          [key, hash],
        );
        if (claimed.length === 0) {
          const [seen] = await rt.query<{ request_hash: string; response: Record<string, unknown> | null }>(
            'select request_hash, response from api_idempotency_keys where idempotency_key = $1',
            [key],
          );
          if (seen && seen.request_hash !== hash) {
            throw new ApiError(422, 'LM_ERR_API_IDEMPOTENCY_CONFLICT', 'this Idempotency-Key was used with another body; use a new key');
          }
          if (!seen?.response)
            throw new ApiError(
              409,
              'LM_ERR_API_IDEMPOTENCY_IN_FLIGHT',
              'a request with this Idempotency-Key is still being sent; retry shortly',
            );
          return reply.code(202).send({ ...(seen.response as z.infer<typeof IngestResponse>), replayed: true });
        }
      }
      const byKind: Record<string, number> = {};
      const batches = new Map<string, { key: string | null; value: string }[]>();
      for (const { kind, value } of events) {
        const topic = topicOf[kind];
        const messages = batches.get(topic.name + suffix) ?? [];
        messages.push({ key: String(value[topic.key] ?? ''), value: JSON.stringify(value) });
        batches.set(topic.name + suffix, messages);
        byKind[kind] = (byKind[kind] ?? 0) + 1;
      }
      try {
        const producer = await app.kafka.getProducer();
        await within(producer.sendBatch([...batches].map(([topic, messages]) => ({ topic, messages }))), 15_000, 'Kafka');
      } catch (error) {
        if (key) await rt.query('delete from api_idempotency_keys where idempotency_key = $1', [key]).catch(() => undefined);
        if (error instanceof ApiError || isDatabaseUnavailable(error)) throw error;
        request.log.warn({ err: (error as Error).message }, 'Kafka did not acknowledge the events');
        throw new ApiError(
          503,
          'LM_ERR_API_KAFKA_UNAVAILABLE',
          'Kafka did not acknowledge every event; retry (the savers keep an event id once, so a resent event is harmless)',
          undefined,
          {
            'retry-after': '5',
          },
        );
      }
      const body = { accepted: events.length, by_kind: byKind, idempotency_key: key, replayed: false };
      if (key) await rt.query('update api_idempotency_keys set response = $2 where idempotency_key = $1', [key, body]);
      return reply.code(202).send(body);
    },
  );
};
