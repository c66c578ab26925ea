/**
 * A batch's payloads encoded to UTF-8 one by one, as their events are made, into one buffer.
 *
 * Why: a serialized event is a string of ~250 characters built from a template (for V8 a rope of a
 * dozen pieces). Kept as strings until their batch was acknowledged, the values of the batches in
 * flight outlived two young-generation collections, were copied into the old generation and drove
 * its growth: at 100,000 events/s most of the generator's memory and much of its time in the
 * garbage collector. Encoded at once, the string dies young, and what waits for the broker is
 * bytes outside the JavaScript heap (bench:generate: about 1.25x the events/s with less memory;
 * the figures are in the README).
 */

/** Room one UTF-16 code unit can need in UTF-8 (a lone surrogate is written as 3 bytes). */
const MaxBytesPerChar = 3;
const MinCapacity = 16 * 1024;

export class ValueBytes {
  #buffer: Buffer;
  #used = 0;
  #ends: number[] = [];

  constructor(capacity = 64 * 1024) {
    this.#buffer = Buffer.allocUnsafe(Math.max(MinCapacity, capacity));
  }

  /** Appends `value`'s UTF-8 bytes; returns how many bytes that was. */
  add(value: string): number {
    const room = value.length * MaxBytesPerChar;
    if (this.#used + room > this.#buffer.length) this.#grow(this.#used + room);
    const written = this.#buffer.write(value, this.#used);
    this.#used += written;
    this.#ends.push(this.#used);
    return written;
  }

  /**
   * The values added since the last take(), each a view of the one buffer, in order; the next
   * values go to a new buffer (sized from this one), so the views stay valid while they wait for
   * the broker.
   */
  take(): Buffer[] {
    const views = new Array<Buffer>(this.#ends.length);
    let start = 0;
    for (let i = 0; i < views.length; i++) {
      const end = this.#ends[i] as number;
      views[i] = this.#buffer.subarray(start, end);
      start = end;
    }
    this.#buffer = Buffer.allocUnsafe(Math.max(MinCapacity, Math.ceil(this.#used * 1.25)));
    this.#used = 0;
    this.#ends = [];
    return views;
  }

  #grow(needed: number): void {
    const bigger = Buffer.allocUnsafe(Math.max(needed, this.#buffer.length * 2));
    this.#buffer.copy(bigger, 0, 0, this.#used);
    this.#buffer = bigger;
  }
}
