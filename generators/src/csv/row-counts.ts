/**
 * How many rows each transaction id has in a file, in typed arrays: 7 bytes a slot, 10 to 19 bytes
 * per id, where a Map of strings would take well over 100 (a 1 GB line-per-item file has millions
 * of invoices). Ids are kept as 32-bit hashes and counts as 16 bits. Both only ever delay an
 * invoice, never cut it: two ids sharing a hash (about a hundred pairs in a million invoices) share
 * one count, so the first to finish waits for the other's last row; a count that reaches 65,535
 * sticks, and that invoice waits for the end of the file.
 */

/** FNV-1a, 32 bits. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const Sticky = 0xffff;

export class RowCounts {
  private keys = new Uint32Array(1024);
  private counts = new Uint16Array(1024);
  /** Whether slot i holds a key (a hash may be 0). */
  private taken = new Uint8Array(1024);
  private used = 0;

  /** Distinct ids (hashes) counted. */
  get size(): number {
    return this.used;
  }

  add(id: string): void {
    const key = hash32(id);
    let slot = this.slotOf(key);
    if (this.taken[slot] === 0) {
      this.keys[slot] = key;
      this.taken[slot] = 1;
      this.used++;
      if (this.used * 4 > this.keys.length * 3) {
        this.grow();
        slot = this.slotOf(key);
      }
    }
    const count = this.counts[slot] as number;
    if (count < Sticky) this.counts[slot] = count + 1;
  }

  /** Counts one row of `id` as read; returns how many of its rows are still to come (1 or more when unsure). */
  take(id: string): number {
    const slot = this.slotOf(hash32(id));
    const count = this.counts[slot] as number;
    if (this.taken[slot] === 0 || count === 0) return 0;
    if (count === Sticky) return 1;
    this.counts[slot] = count - 1;
    return count - 1;
  }

  /** Open addressing with linear probing. */
  private slotOf(key: number): number {
    const mask = this.keys.length - 1;
    let slot = Math.imul(key, 0x9e3779b1) >>> 0;
    slot &= mask;
    while (this.taken[slot] === 1 && this.keys[slot] !== key) slot = (slot + 1) & mask;
    return slot;
  }

  private grow(): void {
    const { keys, counts, taken } = this;
    this.keys = new Uint32Array(keys.length * 2);
    this.counts = new Uint16Array(keys.length * 2);
    this.taken = new Uint8Array(keys.length * 2);
    for (let i = 0; i < keys.length; i++) {
      if (taken[i] === 0) continue;
      const slot = this.slotOf(keys[i] as number);
      this.keys[slot] = keys[i] as number;
      this.counts[slot] = counts[i] as number;
      this.taken[slot] = 1;
    }
  }
}
