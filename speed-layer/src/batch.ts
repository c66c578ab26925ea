/**
 * One fetched partition batch to what the store writes: events through the pipeline steps, the
 * valid ones as staging rows, the others as dead letters. Pure.
 */
import type { CartEvent, CatalogRecord, EventKind, ProductViewEvent, TransactionEvent } from '@lambdamart/core';
import { cartEventRows, catalogRows, productViewRows, type StagingCopy, transactionRows } from './rows.ts';
import { prepareEvent } from './steps/index.ts';
import type { DeadLetterRow } from './store.ts';

export interface IncomingMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

export interface PreparedBatch {
  valid: { message: IncomingMessage; event: unknown }[];
  deadLetters: (DeadLetterRow & { raw: Buffer | null; rawKey: Buffer | null })[];
}

export function prepareBatch(kind: EventKind, messages: readonly IncomingMessage[]): PreparedBatch {
  const valid: PreparedBatch['valid'] = [];
  const deadLetters: PreparedBatch['deadLetters'] = [];
  for (const message of messages) {
    const result = prepareEvent(kind, message.value);
    if (result.ok) valid.push({ message, event: result.value });
    else deadLetters.push(deadLetterRow(message, result.reason));
  }
  return { valid, deadLetters };
}

/** Text columns cannot hold NUL: the table keeps a visible escape, the Kafka dead letter the raw bytes. */
const textOf = (raw: Buffer | null): string | null => (raw === null ? null : raw.toString('utf8').replaceAll('\u0000', '\\u0000'));

export function deadLetterRow(message: IncomingMessage, reason: string): PreparedBatch['deadLetters'][number] {
  return {
    offset: message.offset,
    key: textOf(message.key),
    reason: reason.replaceAll('\u0000', '\\u0000'),
    payload: textOf(message.value),
    raw: message.value,
    rawKey: message.key,
  };
}

export function stagingRows(kind: EventKind, events: readonly unknown[]): StagingCopy {
  switch (kind) {
    case 'transaction':
      return transactionRows(events as TransactionEvent[]);
    case 'view':
      return productViewRows(events as ProductViewEvent[]);
    case 'cart':
      return cartEventRows(events as CartEvent[]);
    case 'catalog':
      return catalogRows(events as CatalogRecord[]);
  }
}
