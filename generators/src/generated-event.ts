/** One event the generator (or the CSV import) hands to a sink: its topic, key, time and body. */
import type { CartEvent, CatalogRecord, ProductViewEvent, TransactionEvent } from '@lambdamart/core';
import type { BadEventKind } from './bad-event-kinds.ts';

export type GeneratedKind = 'catalog' | 'view' | 'cart' | 'transaction';

interface EventByKind {
  catalog: CatalogRecord;
  view: ProductViewEvent;
  cart: CartEvent;
  transaction: TransactionEvent;
}

export type GeneratedEvent = {
  [K in GeneratedKind]: {
    kind: K;
    topic: string;
    /** The message key: user_id for user events, product_id for catalog records. */
    key: string;
    /** Event time in epoch milliseconds. */
    time: number;
    /** The event object; for a bad event, what was sent (possibly invalid on purpose). */
    event: EventByKind[K];
    /** Set on deliberately bad events (`--bad-rate`), which exercise the dead-letter path. */
    bad?: BadEventKind;
    /** The payload when it is not JSON.stringify(event): malformed JSON. */
    raw?: string;
  };
}[GeneratedKind];
