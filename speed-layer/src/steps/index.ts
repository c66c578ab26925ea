import type { EventKind, EventOf } from '@lambdamart/core';
import { checkStorableStep } from './check-storable-step.ts';
import { parseJsonStep } from './parse-json-step.ts';
import type { StepResult } from './step.ts';
import { validateContractStep } from './validate-contract-step.ts';

export type { StepResult } from './step.ts';

/** The pipeline of one message: parse, validate against the contract, check it fits the tables. */
export function prepareEvent<K extends EventKind>(kind: K, raw: Buffer | null): StepResult<EventOf<K>> {
  const json = parseJsonStep(raw);
  if (!json.ok) return json;
  const valid = validateContractStep(kind, json.value);
  if (!valid.ok) return valid;
  return checkStorableStep(kind, valid.value);
}
