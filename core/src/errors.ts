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
