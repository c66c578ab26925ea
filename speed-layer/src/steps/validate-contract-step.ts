import { type EventKind, type EventOf, validateEvent } from '@lambdamart/core';
import { deadLetter, ok, type StepResult } from './step.ts';

/** A JSON value against the core contract of its topic (zod); the reason names the fields. */
export function validateContractStep<K extends EventKind>(kind: K, value: unknown): StepResult<EventOf<K>> {
  const result = validateEvent(kind, value);
  return result.ok ? ok(result.value) : deadLetter(`invalid ${kind}: ${result.reason}`);
}
