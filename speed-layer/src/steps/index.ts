import { type EventKind, type EventOf, fastValidEvent } from '@lambdamart/core';
import { checkStorableStep, fitsTheTables } from './check-storable-step.ts';
import { parseJsonStep } from './parse-json-step.ts';
import { ok, type StepResult } from './step.ts';
import { validateContractStep } from './validate-contract-step.ts';

export type { StepResult } from './step.ts';

/**
 * The pipeline of one message: parse, validate against the contract, check it fits the tables.
 * A valid event takes the compiled checks (core's fastValidEvent, fitsTheTables); anything they
 * are not sure of takes zod and storageProblem, which give the verdict and the reason.
 */
export function prepareEvent<K extends EventKind>(kind: K, raw: Buffer | null): StepResult<EventOf<K>> {
  const json = parseJsonStep(raw);
  if (!json.ok) return json;
  const fast = fastValidEvent(kind, json.value);
  if (fast !== undefined && fitsTheTables(kind, fast)) return ok(fast);
  return slowPrepare(kind, json.value);
}

/** The steps one by one (zod for the contract): the verdict and reason of every event. */
export function slowPrepare<K extends EventKind>(kind: K, value: unknown): StepResult<EventOf<K>> {
  const valid = validateContractStep(kind, value);
  if (!valid.ok) return valid;
  return checkStorableStep(kind, valid.value);
}
