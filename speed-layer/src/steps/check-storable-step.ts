import type { EventKind, EventOf } from '@lambdamart/core';
import { deadLetter, ok, type StepResult } from './step.ts';

/**
 * What the contract allows but the realtime tables cannot hold. Without this step one such event
 * would fail the COPY of its whole batch again and again: numeric(12,2) money, int4 quantities,
 * smallint line numbers, text without NUL characters, timestamps PostgreSQL can store.
 */
const MAX_MONEY = 9_999_999_999.99;
const MAX_INT4 = 2_147_483_647;
const MAX_LINES = 32_767;

export function checkStorableStep<K extends EventKind>(kind: K, event: EventOf<K>): StepResult<EventOf<K>> {
  const problem = storageProblem(event as Record<string, unknown>);
  if (problem) return deadLetter(`not storable as a ${kind}: ${problem}`);
  return ok(event);
}

/**
 * The same check for an event the contract accepted, without allocating: true when it certainly
 * fits the tables. False: checkStorableStep finds the reason (or passes it after all).
 */
export function fitsTheTables(kind: EventKind, event: EventOf<EventKind>): boolean {
  const e = event as Record<string, unknown>;
  switch (kind) {
    case 'transaction': {
      const t = event as EventOf<'transaction'>;
      if (!(t.total_amount <= MAX_MONEY) || !yearFits(t.transaction_timestamp) || t.products.length > MAX_LINES) return false;
      if (noNul(t.transaction_id) && noNul(t.user_id) && noNul(t.session_id) && noNul(t.currency) && noNul(t.payment_method)) {
        if (!noNul(t.country) || !noNul(t.transaction_timestamp)) return false;
      } else return false;
      for (const line of t.products) {
        if (!(line.price <= MAX_MONEY) || !(line.quantity <= MAX_INT4) || !noNul(line.product_id)) return false;
      }
      return true;
    }
    case 'view':
    case 'cart':
      if (e.price !== undefined && !((e.price as number) <= MAX_MONEY)) return false;
      if (e.quantity !== undefined && !((e.quantity as number) <= MAX_INT4)) return false;
      return (
        noNul(e.event_id as string) &&
        noNul(e.event_type as string) &&
        noNul(e.user_id as string) &&
        noNul(e.product_id as string) &&
        noNul(e.session_id as string) &&
        noNul(e.country as string) &&
        noNul(e.timestamp as string) &&
        yearFits(e.timestamp as string)
      );
    case 'catalog':
      return (
        (e.price as number) <= MAX_MONEY &&
        noNul(e.product_id as string) &&
        noNul(e.name as string) &&
        noNul(e.category as string) &&
        noNul(e.updated_at as string) &&
        yearFits(e.updated_at as string)
      );
  }
}

const noNul = (s: string): boolean => s.indexOf('\u0000') === -1;

/** A contract timestamp starts with its 4-digit year; 0000 is the one PostgreSQL cannot store. */
function yearFits(timestamp: string): boolean {
  if (timestamp.length > 30) return false;
  const c0 = timestamp.charCodeAt(0);
  const c1 = timestamp.charCodeAt(1);
  const c2 = timestamp.charCodeAt(2);
  const c3 = timestamp.charCodeAt(3);
  return (
    timestamp.charCodeAt(4) === 45 &&
    (c0 !== 48 || c1 !== 48 || c2 !== 48 || c3 !== 48) &&
    c0 >= 48 &&
    c0 <= 57 &&
    c1 >= 48 &&
    c1 <= 57 &&
    c2 >= 48 &&
    c2 <= 57 &&
    c3 >= 48 &&
    c3 <= 57
  );
}

function storageProblem(record: Record<string, unknown>, path = ''): string | null {
  for (const [field, value] of Object.entries(record)) {
    const name = path ? `${path}.${field}` : field;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return `${name} contains a NUL character`;
      if (field.endsWith('timestamp') || field === 'updated_at') {
        const year = new Date(value).getUTCFullYear();
        if (!(year >= 1 && year <= 9999)) return `${name} ${value} is outside the years 1-9999`;
      }
    } else if (typeof value === 'number') {
      if ((field === 'price' || field === 'total_amount') && value > MAX_MONEY) return `${name} ${value} exceeds ${MAX_MONEY}`;
      if (field === 'quantity' && value > MAX_INT4) return `${name} ${value} exceeds ${MAX_INT4}`;
    } else if (Array.isArray(value)) {
      if (value.length > MAX_LINES) return `${name} has ${value.length} lines, more than ${MAX_LINES}`;
      for (const [i, item] of value.entries()) {
        const problem = item && typeof item === 'object' ? storageProblem(item as Record<string, unknown>, `${name}[${i}]`) : null;
        if (problem) return problem;
      }
    }
  }
  return null;
}
