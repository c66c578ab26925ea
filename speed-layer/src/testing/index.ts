// Helpers for the speed layer's tests and the benchmarks (`@lambdamart/speed-layer/testing`).
export { type RealtimeCounts, realtimeCounts, waitFor } from './database.ts';
export {
  badTransactionMessages,
  CATEGORIES,
  COUNTRIES,
  cartEvent,
  catalogRecord,
  categoryOf,
  mixedEvent,
  PRODUCT_COUNT,
  productId,
  productView,
  transaction,
} from './factories.ts';
export { createSaverTopics, deleteSaverTopics, messagesOf, randomSuffix, sendAll, topicsPerTest, withProducer } from './kafka.ts';
export { healthOf, type SaverProcess, spawnSaver } from './process.ts';
