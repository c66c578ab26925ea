/**
 * A retry loop must not fill a terminal with the same line: the first occurrence of a message is
 * logged, repeats within the window are only counted, and the next one after the window is logged
 * with how many were held back (`repeated`).
 */
export class RepeatedLines {
  private readonly seen = new Map<string, { since: number; held: number }>();

  constructor(
    private readonly windowMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether to log this line now, and how many like it were held back since it was last logged. */
  admit(key: string): { log: boolean; repeated: number } {
    const at = this.now();
    const entry = this.seen.get(key);
    if (entry && at - entry.since < this.windowMs) {
      entry.held += 1;
      return { log: false, repeated: 0 };
    }
    this.seen.set(key, { since: at, held: 0 });
    if (this.seen.size > 1_000) this.forgetOlderThan(at - this.windowMs);
    return { log: true, repeated: entry?.held ?? 0 };
  }

  private forgetOlderThan(limit: number): void {
    for (const [key, entry] of this.seen) if (entry.since < limit) this.seen.delete(key);
  }
}
