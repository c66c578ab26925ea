/**
 * The kinds of deliberately bad events (`--bad-rate`) and which of them break the contract: what
 * a generated event says it is, and what the summary and the tests count.
 */
export const BadEventKinds = [
  'malformed_json',
  'missing_field',
  'negative_quantity',
  'wrong_total',
  'unknown_product',
  'duplicate_id',
] as const;

export type BadEventKind = (typeof BadEventKinds)[number];

/** Bad kinds that break the contract: the speed layer sends them to the dead letters. */
export const InvalidEventKinds = ['malformed_json', 'missing_field', 'negative_quantity', 'wrong_total'] as const;
export type InvalidEventKind = (typeof InvalidEventKinds)[number];

/**
 * Bad kinds that are valid events: an id the catalog never had (saved, its category 'Unknown')
 * and a redelivery (absorbed by idempotent writes). Neither reaches the dead letters.
 */
export const UnusualEventKinds = ['unknown_product', 'duplicate_id'] as const;
export type UnusualEventKind = (typeof UnusualEventKinds)[number];

export function isInvalidKind(kind: BadEventKind): kind is InvalidEventKind {
  return (InvalidEventKinds as readonly string[]).includes(kind);
}
