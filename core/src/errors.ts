/**
 * One catalogue of errors with stable codes. `retriable` tells a retry policy whether trying
 * again can help (a broker that is restarting) or not (a bad config value).
 */
export const ErrorCodes = {
  LM_ERR_CONFIG_INVALID: 'An environment variable has a value that is not allowed',
  LM_ERR_FLAG_INVALID: 'A command-line flag has a value that is not allowed',
  LM_ERR_STACK_START: 'A component of the local stack failed to start',
  LM_ERR_STACK_DOWN: 'A component of the local stack is not running',
  LM_ERR_POSTGRES_UNREACHABLE: 'PostgreSQL refused or dropped the connection',
  LM_ERR_KAFKA_UNREACHABLE: 'No Kafka broker answered',
  LM_ERR_MIGRATION_FAILED: 'A database migration failed',
  LM_ERR_SPEED_CONSUMER_FAILED: "The savers' Kafka consumer kept crashing with an error it cannot retry",
  // The REST API: each answer's JSON body carries one of these as `code` (HTTP status beside it).
  LM_ERR_API_VALIDATION: 'The request has a parameter, header or body field that is not allowed (400)',
  LM_ERR_API_EVENT_INVALID: 'An event sent to POST /events breaks its contract (400)',
  LM_ERR_API_UNAUTHORIZED: 'The API key is missing or unknown (401)',
  LM_ERR_API_FORBIDDEN: 'The API key has the read role; this needs an admin key (403)',
  LM_ERR_API_WRITES_DISABLED: 'No API_KEYS are configured, so every write is refused (403)',
  LM_ERR_API_NOT_FOUND: 'No such route, or no such resource (404)',
  LM_ERR_API_NOT_ACCEPTABLE: 'The Accept header asks for a format the route cannot give (406)',
  LM_ERR_API_JOB_RUNNING: 'The batch job is already running (409)',
  LM_ERR_API_IDEMPOTENCY_IN_FLIGHT: 'A request with this Idempotency-Key is still being sent (409)',
  LM_ERR_API_IDEMPOTENCY_CONFLICT: 'The Idempotency-Key was used before with another body (422)',
  LM_ERR_API_PAYLOAD_TOO_LARGE: 'The request body is too large (413)',
  LM_ERR_API_RATE_LIMITED: 'Too many requests for this key or address; see Retry-After (429)',
  LM_ERR_API_DATABASE_UNAVAILABLE: 'A database the answer needs is down (503)',
  LM_ERR_API_KAFKA_UNAVAILABLE: 'Kafka did not acknowledge the events (503)',
  LM_ERR_API_NOT_CONFIGURED: 'This process was started without the part the route needs (503)',
  LM_ERR_API_INTERNAL: 'An unexpected error; the log has the details (500)',
  // api-perf (#10): overload is not an outage.
  LM_ERR_API_OVERLOADED: 'Too many reads are waiting for a database connection; retry after Retry-After seconds (503)',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class LambdamartError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { retriable?: boolean; hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LambdamartError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.hint = options.hint;
  }

  /** The one line a user sees: what went wrong and how to fix it. */
  oneLine(): string {
    return this.hint ? `${this.message} (${this.hint})` : this.message;
  }
}
