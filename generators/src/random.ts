/**
 * A seeded pseudo-random source (sfc32, seeded through splitmix32): the same seed gives the same
 * numbers on every machine, which is what makes generated events, ids included, reproducible.
 */

import { LambdamartError } from '@lambdamart/core';

/** The two hex digits of each byte, as character codes. */
const HexDigits = new Uint8Array(512);
for (let i = 0; i < 256; i++) {
  const hex = i.toString(16).padStart(2, '0');
  HexDigits[2 * i] = hex.charCodeAt(0);
  HexDigits[2 * i + 1] = hex.charCodeAt(1);
}
const uuidBytes = Buffer.alloc(36, 0x2d); // '-' stays at 8, 13, 18 and 23

function putHex(at: number, byte: number): void {
  uuidBytes[at] = HexDigits[2 * byte] as number;
  uuidBytes[at + 1] = HexDigits[2 * byte + 1] as number;
}

/**
 * The version-4 UUID of four random 32-bit words (their bits in order, with the version and
 * variant bits set). Written into one buffer and read back as one flat string: a template of 20
 * parts would leave a tree of string pieces for the garbage collector, per id.
 */
export function formatUuid(w0: number, w1: number, w2: number, w3: number): string {
  putHex(0, w0 >>> 24);
  putHex(2, (w0 >>> 16) & 0xff);
  putHex(4, (w0 >>> 8) & 0xff);
  putHex(6, w0 & 0xff);
  putHex(9, w1 >>> 24);
  putHex(11, (w1 >>> 16) & 0xff);
  putHex(14, ((w1 >>> 8) & 0x0f) | 0x40); // version 4
  putHex(16, w1 & 0xff);
  putHex(19, ((w2 >>> 24) & 0x3f) | 0x80); // variant 10xx
  putHex(21, (w2 >>> 16) & 0xff);
  putHex(24, (w2 >>> 8) & 0xff);
  putHex(26, w2 & 0xff);
  putHex(28, w3 >>> 24);
  putHex(30, (w3 >>> 16) & 0xff);
  putHex(32, (w3 >>> 8) & 0xff);
  putHex(34, w3 & 0xff);
  return uuidBytes.toString('latin1', 0, 36);
}

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    const mix = splitmix32(seed);
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix();
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** A uniform 32-bit unsigned integer. */
  uint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A uniform integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  /** Exponentially distributed with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** Log-normal: most values near the median, a long tail (view durations, basket sizes). */
  logNormal(median: number, sigma: number): number {
    const u = 1 - this.next();
    const v = this.next();
    const normal = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    return median * Math.exp(sigma * normal);
  }

  /** An RFC 4122 version-4 UUID drawn from this source (so it is as reproducible as the rest). */
  uuid(): string {
    return formatUuid(this.uint32(), this.uint32(), this.uint32(), this.uint32());
  }

  /** Fisher-Yates shuffle of a copy. */
  shuffled<T>(items: readonly T[]): T[] {
    const copy = items.slice();
    for (let i = copy.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
    }
    return copy;
  }
}

/** Samples indexes 0..n-1 with the given (unnormalised) weights, by binary search on the cumulative sum. */
export class WeightedSampler {
  private readonly cumulative: Float64Array;

  constructor(weights: readonly number[]) {
    if (weights.length === 0) throw new LambdamartError('LM_ERR_GENERATOR_OPTION_INVALID', 'WeightedSampler needs at least one weight');
    this.cumulative = new Float64Array(weights.length);
    let sum = 0;
    weights.forEach((w, i) => {
      sum += w;
      this.cumulative[i] = sum;
    });
  }

  sample(rng: Rng): number {
    const total = this.cumulative[this.cumulative.length - 1] as number;
    const target = rng.next() * total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.cumulative[mid] as number) > target) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/** Zipf-like weights 1/(rank+1)^s: a few very active customers and popular products, a long tail. */
export function zipfWeights(n: number, exponent: number): number[] {
  return Array.from({ length: n }, (_, rank) => 1 / (rank + 1) ** exponent);
}
