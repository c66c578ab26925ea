/** The extract window of a run: pure, so the watermark arithmetic has unit tests. */
import type { ExtractWindow } from './staging.ts';

export const defaultLookbackMinutes = 10;

/** The next day of a YYYY-MM-DD date, for an inclusive --to. */
export function nextDay(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

export function extractWindow(
  watermark: Date | null,
  options: { fullRefresh?: boolean; from?: string; to?: string; lookbackMinutes?: number },
): ExtractWindow {
  const fromTs = options.from ? `${options.from}T00:00:00Z` : '-infinity';
  const toTs = options.to ? `${nextDay(options.to)}T00:00:00Z` : 'infinity';
  // A ranged run reprocesses every row of its range, whatever the watermark.
  if (options.fullRefresh || options.from || options.to || watermark === null) {
    return { since: '-infinity', until: 'infinity', fromTs, toTs };
  }
  const lookbackMs = (options.lookbackMinutes ?? defaultLookbackMinutes) * 60_000;
  return { since: new Date(watermark.getTime() - lookbackMs).toISOString(), until: 'infinity', fromTs, toTs };
}

/** The watermark after a run: never moves back; a ranged run leaves it alone. */
export function nextWatermark(
  previous: Date | null,
  newestStaged: Date | null,
  options: { from?: string; to?: string },
): Date | null | undefined {
  if (options.from || options.to) return undefined;
  if (newestStaged === null) return undefined;
  if (previous !== null && previous.getTime() >= newestStaged.getTime()) return undefined;
  return newestStaged;
}
