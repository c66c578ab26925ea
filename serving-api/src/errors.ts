/**
 * The API's errors: every answer that is not a success is JSON `{ statusCode, code, error, message,
 * details? }` with a stable `code` from core's catalogue. Nothing else reaches a client: no stack
 * trace, no SQL text, no table name (the log keeps those).
 */
import { type ErrorCode, ErrorCodes } from '@lambdamart/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';

export interface FieldProblem {
  /** Where: `query.from`, `body[3].total_amount`, `header.idempotency-key`. */
  field: string;
  reason: string;
  /** For a list of events: the position of the event. */
  index?: number;
}

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: FieldProblem[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const ErrorBody = z
  .object({
    statusCode: z.number().int(),
    code: z.enum(Object.keys(ErrorCodes) as [ErrorCode, ...ErrorCode[]]),
    error: z.string(),
    message: z.string(),
    details: z.array(z.object({ field: z.string(), reason: z.string(), index: z.number().int().optional() })).optional(),
  })
  .meta({ id: 'Error' });

export type ErrorBodyType = z.infer<typeof ErrorBody>;

const httpNames: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function errorBody(statusCode: number, code: ErrorCode, message: string, details?: FieldProblem[]): ErrorBodyType {
  return { statusCode, code, error: httpNames[statusCode] ?? 'Error', message, ...(details ? { details } : {}) };
}

/** PostgreSQL and socket errors that mean "the database is not there", not "the query is wrong". */
export function isDatabaseUnavailable(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  return (
    /^(08|57P0[1-3]|53300|3D000)/.test(code) ||
    ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE'].includes(code) ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message)
  );
}

const contextNames: Record<string, string> = { querystring: 'query', params: 'path', body: 'body', headers: 'header' };

/** `/0/products/1/price` -> `[0].products[1].price` */
function pathOf(instancePath: string): string {
  return instancePath
    .split('/')
    .filter(Boolean)
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join('');
}

export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof ApiError) {
      if (error.statusCode >= 500) request.log.warn({ err: error.cause ?? error, code: error.code }, error.message);
      if (error.headers) reply.headers(error.headers);
      return reply.code(error.statusCode).send(errorBody(error.statusCode, error.code, error.message, error.details));
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      const where = contextNames[error.validationContext ?? ''] ?? error.validationContext ?? 'request';
      const details = error.validation.map((issue) => ({
        field: `${where}${pathOf(issue.instancePath)}`,
        reason: issue.message ?? 'is not valid',
      }));
      const summary = details.map((d) => `${d.field}: ${d.reason}`).join('; ');
      return reply.code(400).send(errorBody(400, 'LM_ERR_API_VALIDATION', `invalid request: ${summary}`, details));
    }
    if (isDatabaseUnavailable(error)) {
      request.log.warn({ err: error }, 'database unavailable');
      return reply
        .code(503)
        .send(errorBody(503, 'LM_ERR_API_DATABASE_UNAVAILABLE', 'a database this answer needs is unavailable; try again'));
    }
    // Class 22 (data exception) from PostgreSQL: a parameter value it cannot take (a NUL byte, a
    // year out of its range). Every statement is parameterised, so this is the client's input.
    if (/^22/.test(typeof error.code === 'string' ? error.code : '') && 'severity' in error) {
      request.log.info({ err: error }, 'a parameter the database refused');
      return reply.code(400).send(errorBody(400, 'LM_ERR_API_VALIDATION', 'a parameter has a value the database cannot take'));
    }
    const status = error.statusCode ?? 500;
    // Fastify's own client errors (a malformed JSON body, a wrong content type, a body too large)
    // carry messages written for clients; anything else is ours and stays in the log.
    if (status === 413) return reply.code(413).send(errorBody(413, 'LM_ERR_API_PAYLOAD_TOO_LARGE', error.message));
    if (status >= 400 && status < 500 && error.code?.startsWith('FST_')) {
      return reply.code(status).send(errorBody(status, 'LM_ERR_API_VALIDATION', error.message));
    }
    if (status === 429) return reply.code(429).send(errorBody(429, 'LM_ERR_API_RATE_LIMITED', error.message));
    request.log.error({ err: error }, 'unexpected error');
    return reply.code(500).send(errorBody(500, 'LM_ERR_API_INTERNAL', 'unexpected error; the server log has the details'));
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errorBody(404, 'LM_ERR_API_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
  });
}
