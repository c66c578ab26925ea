/** Kafka topics: names, partitions, keys and topic-level config. The one place that names them. */
export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  /** Which field of the record is the message key. */
  readonly key: string;
  readonly config: Readonly<Record<string, string>>;
}

const retention7d = { 'retention.ms': String(7 * 24 * 3600 * 1000) };

export const Topics = {
  transactions: { name: 'transactions-topic', partitions: 3, key: 'user_id', config: retention7d },
  productViews: { name: 'product-views-topic', partitions: 3, key: 'user_id', config: retention7d },
  cartEvents: { name: 'cart-events-topic', partitions: 3, key: 'user_id', config: retention7d },
  // Compacted: the latest record per product survives forever, so a new consumer can rebuild the catalog.
  productCatalog: {
    name: 'product-catalog',
    partitions: 3,
    key: 'product_id',
    config: { 'cleanup.policy': 'compact' },
  },
  deadLetters: { name: 'dead-letters', partitions: 3, key: 'source', config: retention7d },
} as const satisfies Record<string, TopicSpec>;

export type TopicKey = keyof typeof Topics;

export const allTopics: readonly TopicSpec[] = Object.values(Topics);

/** Topics that carry user events (the three generator streams). */
export const eventTopics: readonly TopicSpec[] = [Topics.transactions, Topics.productViews, Topics.cartEvents];

/** Headers a dead letter carries, so the original can always be found again. */
export const DeadLetterHeaders = {
  reason: 'lm-reason',
  sourceTopic: 'lm-source-topic',
  sourcePartition: 'lm-source-partition',
  sourceOffset: 'lm-source-offset',
  /** Set on a dead letter whose payload was cut to fit the topic: the original size in bytes... */
  payloadBytes: 'lm-payload-bytes',
  /** ...and the SHA-256 (hex) of the whole original payload; the dead_letters table keeps it whole. */
  payloadSha256: 'lm-payload-sha256',
  payloadTruncated: 'lm-payload-truncated',
} as const;
