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
