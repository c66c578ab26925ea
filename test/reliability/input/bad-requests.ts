/**
 * What a bad request gets: one table, request -> documented status and error code, that drives
 * bad-requests.int.test.ts (the real API on temporary databases and its own topics) and the README
 * table "What a bad request gets" (readme-tables.ts). `$READ` and `$ADMIN` stand for a read and an
 * admin key.
 */
import { randomUUID } from 'node:crypto';

export const READ_KEY = `rel-input-read-${randomUUID()}`;
export const ADMIN_KEY = `rel-input-admin-${randomUUID()}`;

export interface BadRequestCase {
  name: string;
  method: 'GET' | 'POST' | 'DELETE';
  /** Path and query, as sent (already URL-encoded where it must be). */
  path: string;
  /** The key sent as X-API-Key: 'read', 'admin', none, or a literal wrong one. */
  key: 'read' | 'admin' | 'none' | { wrong: string };
  headers?: Record<string, string>;
  /** A body, sent as is (a string) or as JSON (anything else). */
  body?: unknown;
  status: number;
  code: string;
}

const INJECTION = "x' or '1'='1'; drop table fact_sales; --";
const q = encodeURIComponent(INJECTION);
const event = () => ({
  event_id: randomUUID(),
  event_type: 'view',
  user_id: 'user_1',
  product_id: 'prod_1',
  session_id: 'session_1',
  view_duration: 5,
  country: 'FR',
  timestamp: new Date().toISOString(),
});
const order = (total: number) => ({
  transaction_id: randomUUID(),
  user_id: 'user_1',
  session_id: 'session_1',
  products: [{ product_id: 'prod_1', quantity: 1, price: 10 }],
  total_amount: total,
  currency: 'USD',
  payment_method: 'credit_card',
  country: 'FR',
  transaction_timestamp: new Date().toISOString(),
});
const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

const V = 'LM_ERR_API_VALIDATION';
const get = (name: string, path: string, status = 400, code = V): BadRequestCase => ({
  name,
  method: 'GET',
  path,
  key: 'read',
  status,
  code,
});
const post = (name: string, path: string, body: unknown, status = 400, code = V, extra: Partial<BadRequestCase> = {}): BadRequestCase => ({
  name,
  method: 'POST',
  path,
  key: 'admin',
  body,
  status,
  code,
  ...extra,
});

export const BAD_REQUESTS: readonly BadRequestCase[] = [
  // Keys.
  { name: 'no API key', method: 'GET', path: '/api/v1/kpis', key: 'none', status: 401, code: 'LM_ERR_API_UNAUTHORIZED' },
  {
    name: 'unknown API key',
    method: 'GET',
    path: '/api/v1/kpis',
    key: { wrong: 'not-a-key-of-ours-0000' },
    status: 401,
    code: 'LM_ERR_API_UNAUTHORIZED',
  },
  {
    name: 'injection as the API key',
    method: 'GET',
    path: '/api/v1/kpis',
    key: { wrong: INJECTION },
    status: 401,
    code: 'LM_ERR_API_UNAUTHORIZED',
  },
  {
    name: 'a read key sending events',
    method: 'POST',
    path: '/api/v1/events',
    key: 'read',
    body: event(),
    status: 403,
    code: 'LM_ERR_API_FORBIDDEN',
  },
  {
    name: 'a read key starting a batch job',
    method: 'POST',
    path: '/api/v1/jobs/facts/runs',
    key: 'read',
    body: {},
    status: 403,
    code: 'LM_ERR_API_FORBIDDEN',
  },
  // Injection strings in every parameter: refused where the value is from a list, matched as plain text where it is free.
  get('injection in from', `/api/v1/kpis?from=${q}`),
  get('injection in to', `/api/v1/sales?to=${q}`),
  get('injection in interval', `/api/v1/sales?interval=${q}`),
  get('injection in split_by', `/api/v1/sales?split_by=${q}`),
  get('injection in sort', `/api/v1/products/performance?sort=${q}`),
  get('injection in by', `/api/v1/products/top?by=${q}`),
  get('injection in period', `/api/v1/trends?period=${q}`),
  get('injection in source', `/api/v1/kpis?source=${q}`),
  get('injection in as_of', `/api/v1/dimensions/products?as_of=${q}`),
  get('injection in format', `/api/v1/kpis?format=${q}`),
  get('injection in the job filter', `/api/v1/jobs/runs?job=${q}`, 200, ''),
  get('injection in the status filter', `/api/v1/jobs/runs?status=${q}`),
  get('injection in the run id', `/api/v1/jobs/runs/${q}`),
  get('injection in country (a filter: no match, nothing runs)', `/api/v1/kpis?country=${q}`, 200, ''),
  get('injection in category', `/api/v1/products/performance?category=${q}`, 200, ''),
  get('injection in segment', `/api/v1/rfm?segment=${q}`, 200, ''),
  get('injection in a user id (path)', `/api/v1/rfm/${q}`, 404, 'LM_ERR_API_NOT_FOUND'),
  get('injection in user_id (filter)', `/api/v1/dimensions/customers?user_id=${q}`, 200, ''),
  // Cursors and limits.
  get('a cursor that is not base64 JSON', '/api/v1/facts/sales?cursor=%%%not-a-cursor'),
  get('a cursor of valid base64 holding injection', `/api/v1/facts/sales?cursor=${cursorOf({ date: INJECTION, id: INJECTION })}`),
  get('a huge limit', '/api/v1/facts/sales?limit=1000000000'),
  get('a negative limit', '/api/v1/products/top?limit=-1'),
  get('a limit that is not a number', '/api/v1/rfm?limit=ten'),
  // Dates.
  get('a day that does not exist', '/api/v1/kpis?from=2026-02-30'),
  get('from after to', '/api/v1/sales?from=2026-12-01&to=2026-01-01'),
  get('a year out of range', '/api/v1/kpis?to=99999-01-01'),
  get('a timestamp without a zone', '/api/v1/dimensions/products?as_of=2026-06-01T00:00:00'),
  // Routes and formats.
  get('unknown route', '/api/v1/drop-table', 404, 'LM_ERR_API_NOT_FOUND'),
  {
    name: 'a method the route does not have',
    method: 'DELETE',
    path: '/api/v1/kpis',
    key: 'admin',
    status: 404,
    code: 'LM_ERR_API_NOT_FOUND',
  },
  {
    name: 'Accept: application/xml (answered in JSON)',
    method: 'GET',
    path: '/api/v1/kpis',
    key: 'read',
    headers: { accept: 'application/xml' },
    status: 200,
    code: '',
  },
  // Bodies of POST /events.
  post('events: body that is not JSON', '/api/v1/events', '{"event_id": '),
  post('events: content type text/plain', '/api/v1/events', JSON.stringify(event()), 400, V, {
    headers: { 'content-type': 'text/plain' },
  }),
  post('events: empty body', '/api/v1/events', ''),
  post('events: a JSON string instead of an event', '/api/v1/events', 'drop table transactions'),
  post(
    'events: body over the 8 MiB limit',
    '/api/v1/events',
    [{ ...event(), padding: 'x'.repeat(9 * 1024 * 1024) }],
    413,
    'LM_ERR_API_PAYLOAD_TOO_LARGE',
  ),
  post(
    'events: 1,001 events (more than 1,000)',
    '/api/v1/events',
    Array.from({ length: 1001 }, () => event()),
  ),
  post(
    'events: a valid event beside one with a wrong total (none sent)',
    '/api/v1/events',
    [event(), order(11)],
    400,
    'LM_ERR_API_EVENT_INVALID',
  ),
  post(
    'events: wrong types (quantity "1")',
    '/api/v1/events',
    { ...order(10), products: [{ product_id: 'p', quantity: '1', price: 10 }] },
    400,
    'LM_ERR_API_EVENT_INVALID',
  ),
  post('events: missing fields', '/api/v1/events', { event_type: 'view' }, 400, 'LM_ERR_API_EVENT_INVALID'),
  post('events: an empty Idempotency-Key', '/api/v1/events', event(), 400, V, { headers: { 'idempotency-key': '' } }),
  post('events: an Idempotency-Key over 200 characters', '/api/v1/events', event(), 400, V, {
    headers: { 'idempotency-key': 'k'.repeat(201) },
  }),
  post('events: an Idempotency-Key with an invalid body (key not kept)', '/api/v1/events', order(99), 400, 'LM_ERR_API_EVENT_INVALID', {
    headers: { 'idempotency-key': `rel-input-${randomUUID()}` },
  }),
  // Job triggers.
  post('jobs: unknown job', `/api/v1/jobs/${q}/runs`, {}),
  post('jobs: from that is not a date', '/api/v1/jobs/facts/runs', { from: INJECTION }),
  post('jobs: a day that does not exist', '/api/v1/jobs/facts/runs', { from: '2026-02-30' }),
  post('jobs: full_refresh as a string', '/api/v1/jobs/facts/runs', { full_refresh: 'yes' }),
  post('jobs: an unknown body field', '/api/v1/jobs/facts/runs', { drop: 'table' }),
];

/** The README table "What a bad request gets", one row per case. */
export function badRequestsTable(): string {
  const cell = (s: string) => s.replaceAll('|', '\\|');
  const rows = BAD_REQUESTS.map((c, i) => {
    const path = c.path.length > 70 ? `${c.path.slice(0, 67)}...` : c.path;
    return `| ${i + 1} | ${cell(c.name)} | \`${c.method} ${cell(decodeURIComponentSafe(path))}\` | ${c.status} | ${c.code ? `\`${c.code}\`` : 'an answer (no match; nothing runs)'} |`;
  });
  return ['| # | bad request | request | status | code |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
