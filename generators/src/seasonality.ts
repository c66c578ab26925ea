/**
 * Daily, weekly and yearly seasonality of shop traffic, as a multiplier of the mean arrival rate.
 * History (`--start --days`) follows it; a live run keeps the steady `--rate` the user asked for.
 */

// UTC hour of day: quiet at night, a lunchtime bump and an evening peak.
const Hourly = [
  0.35, 0.25, 0.2, 0.18, 0.2, 0.3, 0.5, 0.75, 0.95, 1.05, 1.1, 1.2, 1.3, 1.25, 1.15, 1.1, 1.15, 1.3, 1.5, 1.65, 1.7, 1.5, 1.05, 0.6,
];
// Sunday .. Saturday: weekends and Monday evenings sell more.
const Weekly = [1.15, 1.05, 0.92, 0.9, 0.93, 1.0, 1.1];
// January .. December: summer lull, November (Black Friday) and December peaks.
const Monthly = [0.9, 0.85, 0.95, 0.95, 0.97, 0.92, 0.9, 0.92, 0.98, 1.02, 1.25, 1.4];

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const hourly = Hourly.map((v) => v / mean(Hourly));
const weekly = Weekly.map((v) => v / mean(Weekly));
const monthly = Monthly.map((v) => v / mean(Monthly));

export const MaxSeasonality = Math.max(...hourly) * Math.max(...weekly) * Math.max(...monthly);

/** The traffic multiplier at a point in time (mean about 1 over a year). */
export function seasonality(time: number): number {
  const date = new Date(time);
  return (hourly[date.getUTCHours()] as number) * (weekly[date.getUTCDay()] as number) * (monthly[date.getUTCMonth()] as number);
}
