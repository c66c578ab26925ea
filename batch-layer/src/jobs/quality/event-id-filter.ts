/**
 * Per-month Bloom filters of the event ids a fact holds: the quality job streams new ids past
 * them to find the ids that may be loaded twice, without a look-up in every partition.
 */

/**
 * A month's filter is built with 32 bits per expected id (the count is an estimate), kept with 16
 * to 32 per id (folded once the count is known) and rebuilt below 12. With 11 hashes a test of
 * an id the filter lacks is a false positive about once in 2,000 tests at 16 bits per id (once in
 * 300 at 12, once in a million at 32).
 */
const buildBitsPerId = 32;
const keptBitsPerId = 16;
const minimumBitsPerId = 12;
const filterHashes = 11;

/**
 * A Bloom filter of event ids: `hashes` positions per id (double hashing of two 32-bit hashes) in
 * a bit array whose size is a power of two, so that it folds in half (position mod size/2).
 */
export class EventIdFilter {
  private readonly mask: number;

  constructor(
    readonly bits: Uint8Array,
    readonly hashes: number,
    public ids = 0,
  ) {
    this.mask = bits.length * 8 - 1;
  }

  static forIds(expected: number): EventIdFilter {
    const bits = 2 ** Math.ceil(Math.log2(Math.max(expected, 1024) * buildBitsPerId));
    return new EventIdFilter(new Uint8Array(bits / 8), filterHashes);
  }

  has(h1: number, h2: number): boolean {
    for (let i = 0; i < this.hashes; i++) {
      const bit = (h1 + Math.imul(i, h2)) & this.mask;
      if (((this.bits[bit >>> 3] ?? 0) & (1 << (bit & 7))) === 0) return false;
    }
    return true;
  }

  /** Fewer than minimumBitsPerId bits per id: false positives grow fast from there. */
  overfull(): boolean {
    return this.bits.length * 8 < this.ids * minimumBitsPerId;
  }

  add(h1: number, h2: number): void {
    for (let i = 0; i < this.hashes; i++) {
      const bit = (h1 + Math.imul(i, h2)) & this.mask;
      this.bits[bit >>> 3] = (this.bits[bit >>> 3] ?? 0) | (1 << (bit & 7));
    }
    this.ids++;
  }

  /** The same filter in fewer bits (OR of the halves) while it keeps keptBitsPerId per id. */
  folded(): EventIdFilter {
    let bits = this.bits;
    while (bits.length > 128 && (bits.length * 8) / 2 >= this.ids * keptBitsPerId) {
      const half = bits.slice(0, bits.length / 2);
      for (let i = 0; i < half.length; i++) half[i] = (half[i] ?? 0) | (bits[i + half.length] ?? 0);
      bits = half;
    }
    return new EventIdFilter(bits, this.hashes, this.ids);
  }
}

/** Two 32-bit hashes of an id's bytes (FNV-1a and a multiplicative one, each finished by murmur3's fmix32). */
export const hashes = new Uint32Array(2);
export function hashId(id: Uint8Array): void {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (const c of id) {
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  hashes[0] = fmix32(a);
  hashes[1] = fmix32(b) | 1;
}

function fmix32(h: number): number {
  let x = h;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}
