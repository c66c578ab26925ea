import { deadLetter, ok, type StepResult } from './step.ts';

/** Fatal: Buffer#toString would replace invalid bytes with U+FFFD and save an altered event (another user_id). */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Raw Kafka bytes to a JSON value; an empty message, invalid UTF-8 or malformed JSON is a dead letter. */
export function parseJsonStep(raw: Buffer | null): StepResult<unknown> {
  if (raw === null || raw.length === 0) return deadLetter('empty message');
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    return deadLetter(`invalid UTF-8 (${raw.length} bytes)`);
  }
  try {
    return ok(JSON.parse(text));
  } catch (error) {
    return deadLetter(`malformed JSON: ${(error as Error).message}`);
  }
}
