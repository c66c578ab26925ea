/**
 * Two costs of the producer's hot path that the library pays per record and we can pay less often
 * (kafka-platformatic.ts uses both):
 * - a key's bytes and its murmur2 partition: keys repeat (all of a user's events share one), and
 *   the library's murmur2 works on BigInts, so each key is hashed once, not once per event;
 * - a value's bytes: the string values of a batch are encoded to UTF-8 in one call and handed out
 *   as views of that one buffer, instead of one small Buffer.from per event.
 */
import { compatibilityPartitioner } from '@platformatic/kafka';

/** Keys kept at most; past it the cache starts again (the generator's 50,000 users fit). */
const MaxKeys = 100_000;

export class KeyCache {
  readonly #entries = new Map<string, { bytes: Buffer; partition: number }>();

  #entry(key: string) {
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      if (this.#entries.size >= MaxKeys) this.#entries.clear();
      const bytes = Buffer.from(key);
      // murmur2 & 0x7fffffff, as Java's and kafkajs's DefaultPartitioner: a user's events stay on one
      // partition whichever client sent them. The library takes it modulo the partition count.
      entry = { bytes, partition: compatibilityPartitioner(undefined as never, bytes) };
      this.#entries.set(key, entry);
    }
    return entry;
  }

  bytes(key: string): Buffer {
    return this.#entry(key).bytes;
  }

  partition(key: string): number {
    return this.#entry(key).partition;
  }
}

/**
 * The values of `messages` as Buffers: string values encoded together when every character is
 * one UTF-8 byte (the byte offsets are then the string offsets), else each on its own. Buffers
 * given as values are kept as they are.
 */
export function valueBuffers(messages: readonly { value: string | Buffer }[]): (string | Buffer)[] {
  const values = messages.map((m) => m.value);
  const strings = values.filter((v) => typeof v === 'string');
  if (strings.length === 0) return values;
  // join makes one flat string; `+=` would make a rope that Buffer.from must flatten first.
  const text = strings.join('');
  if (text.length === 0) return values;
  const bytes = Buffer.from(text);
  if (bytes.length !== text.length) return values;
  let offset = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as string | Buffer;
    if (typeof value !== 'string') continue;
    values[i] = bytes.subarray(offset, offset + value.length);
    offset += value.length;
  }
  return values;
}
