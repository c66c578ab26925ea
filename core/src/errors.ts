/**
 * One catalogue of errors with stable codes: what each means, in one line. The README's "Error
 * codes" section says what to do about each; `errors.test.ts` fails when the two disagree.
 * Each area adds its codes in a block of its own.
 */
export const ErrorCodes = {
  // The stack, the config and the clients: any command can meet these.
  LM_ERR_CONFIG_INVALID: 'An environment variable has a value that is not allowed',
  LM_ERR_FLAG_INVALID: 'A command-line flag has a value that is not allowed',
  LM_ERR_STACK_START: 'A component of the local stack failed to start',
  LM_ERR_STACK_DOWN: 'lambdamart stack down could not stop a component of the local stack',
  LM_ERR_POSTGRES_UNREACHABLE: 'PostgreSQL refused or dropped the connection',
  LM_ERR_KAFKA_UNREACHABLE: 'No Kafka broker answered',
  LM_ERR_KAFKA_NOT_READY: 'Kafka answered but could not yet serve the topics (leaders, group coordinator, produce)',
  LM_ERR_KAFKA_PRODUCE_REFUSED: 'Kafka refused the messages for a reason retrying cannot fix (a message too large, an ACL)',
  LM_ERR_KAFKA_BATCH_CORRUPT: 'A compressed Kafka record batch is cut off or damaged',
  LM_ERR_KAFKA_CODEC_UNSUPPORTED: 'A producer asked for a compression codec that can only be read, not written',
  LM_ERR_SERVICE_TIMEOUT: 'Kafka or a database did not answer within the time allowed',
  LM_ERR_MIGRATION_FAILED: 'A database migration failed',
  LM_ERR_MIGRATION_FILE_MISSING: 'A migration has its .up.sql file but no .down.sql file',
  LM_ERR_SQL_MODEL_PARAMETER: "A SQL model uses a :'parameter' that was given no value",
  LM_ERR_SPEED_CONSUMER_FAILED: "The savers' Kafka consumer kept crashing with an error it cannot retry",
  // The generator and the CSV import (lambdamart generate, lambdamart import).
  LM_ERR_GENERATOR_MIX_INVALID: 'The --mix of event kinds is not one the generator can produce',
  LM_ERR_GENERATOR_OPTION_INVALID: 'A generator option has a value the generator cannot use',
  LM_ERR_IMPORT_FILE_UNREADABLE: 'The CSV file to import cannot be opened',
  LM_ERR_IMPORT_FILE_EMPTY: 'The CSV file to import has no rows',
  LM_ERR_IMPORT_MAP_INVALID: 'A --map entry is not column=field, or names an unknown column or field',
  LM_ERR_IMPORT_FIELD_UNMAPPED: 'A field the event type needs matches no column of the CSV',
  // Dashboards as code (npm run grafana:build, npm run grafana:check-sql).
  LM_ERR_GRAFANA_PANEL_LAYOUT: 'A dashboard panel does not fit the 24-column grid',
  LM_ERR_GRAFANA_QUERY_EXPANSION: 'A dashboard query uses a Grafana macro or template variable the SQL check cannot expand',
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
  LM_ERR_API_OVERLOADED: 'Too many reads are waiting for a database connection; retry after Retry-After seconds (503)',
  LM_ERR_API_INTERNAL: 'An unexpected error; the log has the details (500)',
  // speed layer: what a saver reports in its log and /health (`code`), and what to do about it.
  LM_ERR_SPEED_NOT_MIGRATED:
    'The realtime database has no tables yet; the savers wait: run `lambdamart migrate` (or `lambdamart stack up`)',
  LM_ERR_SPEED_WRITE_CONFLICT: 'A deadlock or serialization failure between two savers; retried at once, nothing to do',
  LM_ERR_SPEED_ROW_REFUSED:
    'PostgreSQL refused a value of an event (SQLSTATE class 22 or 23); the event goes to the dead letters: see `lambdamart dlq list`, fix, `lambdamart dlq replay`',
  LM_ERR_SPEED_POSTGRES_REFUSED:
    "PostgreSQL refuses a partition's batch for a reason not about the data (a permission, a limit); the partition is paused and retried: fix the grant or limit named in /health `blocked`",
  LM_ERR_SPEED_DEAD_LETTERS_REFUSED:
    'The dead-letter topic refuses the dead letters or cannot be reached; the partition is paused and retried: check the topic exists, its max.message.bytes and its ACLs',
  LM_ERR_SPEED_CONSUMER_CRASHED:
    "The savers' Kafka consumer crashed; it is restarted (by kafkajs, or by the savers after a backoff): see /health `lastCrash`",
  // batch layer
  LM_ERR_BATCH_JOB_LOCKED: 'The batch job, or a job using the same tables, is running for another trigger; try again later or pass --wait',
  LM_ERR_BATCH_UNKNOWN_JOB: 'No batch job has that name (`lambdamart batch list` shows them)',
  LM_ERR_BATCH_DATA_QUALITY: 'A data-quality check that guards publication failed; the run rolled back and the last good warehouse stays',
  LM_ERR_BATCH_JOBS_FAILED: 'More than one job of a batch run failed; the message names each',
  LM_ERR_BATCH_PURGE_REFUSED: "The purge was refused: --older-than must be at least 1d (a purge keeps today's events)",
  LM_ERR_BATCH_COPY_UNSUPPORTED: 'A bulk copy from DuckDB met a column type the binary COPY writer does not handle (a bug)',
  LM_ERR_BATCH_EVENT_ID_STREAM: "The quality job could not read PostgreSQL's COPY stream of event ids (a bug, or a connection cut mid-row)",
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/**
 * The codes where trying the same thing again can help (a broker that is restarting, a database
 * coming back), and only those: a retry policy decides from this alone (the KafkaJS habit), so a
 * bad config value or a damaged batch fails at once instead of being retried in vain.
 */
export const RetriableErrorCodes: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  // The stack, the config and the clients.
  'LM_ERR_POSTGRES_UNREACHABLE',
  'LM_ERR_KAFKA_UNREACHABLE',
  'LM_ERR_KAFKA_NOT_READY',
  'LM_ERR_SERVICE_TIMEOUT',
  // The savers: each of these pauses a partition (or all) and tries again; only a refused row is set apart.
  'LM_ERR_SPEED_NOT_MIGRATED',
  'LM_ERR_SPEED_WRITE_CONFLICT',
  'LM_ERR_SPEED_POSTGRES_REFUSED',
  'LM_ERR_SPEED_DEAD_LETTERS_REFUSED',
  'LM_ERR_SPEED_CONSUMER_CRASHED',
  // The batch: another trigger holds the job's lock; it is free again when that run ends.
  'LM_ERR_BATCH_JOB_LOCKED',
  // The REST API: the answers that come with Retry-After, or that a moment later can differ.
  'LM_ERR_API_JOB_RUNNING',
  'LM_ERR_API_IDEMPOTENCY_IN_FLIGHT',
  'LM_ERR_API_RATE_LIMITED',
  'LM_ERR_API_DATABASE_UNAVAILABLE',
  'LM_ERR_API_OVERLOADED',
  'LM_ERR_API_KAFKA_UNAVAILABLE',
]);

export class LambdamartError extends Error {
  readonly code: ErrorCode;
  /** From the code alone (`RetriableErrorCodes`): an instance never says otherwise. */
  readonly retriable: boolean;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LambdamartError';
    this.code = code;
    this.retriable = RetriableErrorCodes.has(code);
    this.hint = options.hint;
  }

  /** The one line a user sees: what went wrong and how to fix it. */
  oneLine(): string {
    return this.hint ? `${this.message} (${this.hint})` : this.message;
  }
}
