/**
 * What the layers may use of core: the contracts they meet through (events, topics, tables),
 * the config, the error catalogue and the client factories. Nothing here does I/O on import.
 */

// Config: the one reader of process.env.
export { type ApiKey, type ApiRole, type Config, configVariables, type EnvSource, loadConfig, loadConfigOrExit } from './config.ts';
// Errors: the catalogue of codes.
export { type ErrorCode, ErrorCodes, LambdamartError, RetriableErrorCodes } from './errors.ts';
// Event contracts.
export {
  type CartEvent,
  CartEventSchema,
  type CatalogRecord,
  CatalogRecordSchema,
  describeIssues,
  type EventKind,
  type EventOf,
  EventSchemas,
  type ProductViewEvent,
  ProductViewSchema,
  parseEvent,
  type TransactionEvent,
  type TransactionLine,
  TransactionLineSchema,
  TransactionSchema,
  toCents,
  type Validated,
  validateEvent,
} from './events.ts';
export { fastValidEvent } from './events-fast.ts';
// Clients, logging and metrics.
export { createKafka, type PartitionBounds, partitionBounds, withAdmin } from './kafka.ts';
export { createLogger, type Logger, type LoggerOptions } from './logger.ts';
export { createMetricsRegistry } from './metrics.ts';
export { createPool, describePostgresUrl, type Pool, type PoolClient, postgresUnreachable } from './postgres.ts';
export {
  createEventProducer,
  type EventProducer,
  type EventProducerOptions,
  type KafkaProducerOptions,
  type OutgoingMessage,
  type ProducerCompression,
  type TopicMessages,
} from './producer.ts';
export { type BatchRunNotice, BatchRunsChannel, type DatabaseKind, Databases, RealtimeTables, WarehouseTables } from './tables.ts';
// Topics and tables.
export { allTopics, DeadLetterHeaders, eventTopics, type TopicKey, type TopicSpec, Topics } from './topics.ts';
export { within } from './within.ts';
