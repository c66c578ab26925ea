import { type EventKind, Topics } from '@lambdamart/core';

/** The topics one group of savers reads and writes. Injectable so tests and benchmarks use their own. */
export interface SaverTopics {
  transactions: string;
  productViews: string;
  cartEvents: string;
  productCatalog: string;
  deadLetters: string;
}

export const defaultSaverTopics: SaverTopics = {
  transactions: Topics.transactions.name,
  productViews: Topics.productViews.name,
  cartEvents: Topics.cartEvents.name,
  productCatalog: Topics.productCatalog.name,
  deadLetters: Topics.deadLetters.name,
};

/** The default topics with a suffix on every name, e.g. `transactions-topic.bench`. */
export function saverTopicsWithSuffix(suffix: string): SaverTopics {
  const entries = Object.entries(defaultSaverTopics).map(([role, name]) => [role, `${name}${suffix}`]);
  return Object.fromEntries(entries) as unknown as SaverTopics;
}

/** The topics the savers consume, each with the contract its messages must satisfy. */
export function sourceTopics(topics: SaverTopics): { topic: string; kind: EventKind }[] {
  return [
    { topic: topics.transactions, kind: 'transaction' },
    { topic: topics.productViews, kind: 'view' },
    { topic: topics.cartEvents, kind: 'cart' },
    { topic: topics.productCatalog, kind: 'catalog' },
  ];
}
