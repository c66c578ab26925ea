/** Topics of their own for tests and benchmarks, so they never write into the real topics. */
import { randomBytes } from 'node:crypto';
import { Topics } from '@lambdamart/core';

export type TopicRenames = Record<string, string>;

/** The four topics the generator writes, each renamed `<name>.<label>-<random>`. */
export function generatorTopicsWithSuffix(label: string): TopicRenames {
  const suffix = `.${label}-${randomBytes(4).toString('hex')}`;
  const names = [Topics.transactions.name, Topics.productViews.name, Topics.cartEvents.name, Topics.productCatalog.name];
  return Object.fromEntries(names.map((name) => [name, `${name}${suffix}`]));
}
