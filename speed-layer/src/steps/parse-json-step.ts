import { deadLetter, ok, type StepResult } from './step.ts';

/** Raw Kafka bytes to a JSON value; an empty or malformed message is a dead letter. */
export function parseJsonStep(raw: Buffer | null): StepResult<unknown> {
  if (raw === null || raw.length === 0) return deadLetter('empty message');
  try {
    return ok(JSON.parse(raw.toString('utf8')));
  } catch (error) {
    return deadLetter(`malformed JSON: ${(error as Error).message}`);
  }
}
