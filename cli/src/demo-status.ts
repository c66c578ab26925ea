/**
 * The demo's verdict on the savers, for its status line: keeping up, not keeping up (the lag
 * grows), stalled (nothing saved while messages wait), or exited; and why, from their /health.
 * Pure, so that each verdict is tested without a stalled saver.
 */

/** What the savers' /health says (speed-layer's HealthReport, the fields the verdict reads). */
export interface SaverHealth {
  healthy: boolean;
  state?: unknown;
  blocked?: unknown;
  /** Set while the savers wait for Postgres: the error it answered with. */
  postgres?: unknown;
  lastCrash?: unknown;
}

export interface SaverSample {
  /** Messages in the savers' topics not saved yet; NaN when Kafka could not be asked. */
  lag: number;
  /** Events saved so far (realtime rows + dead letters). */
  saved: number;
  at: number;
}

export interface SaverVerdict {
  state: 'keeping up' | 'not keeping up' | 'partly stalled' | 'stalled' | 'exited' | 'unknown';
  text: string;
}

const n = (value: number) => value.toLocaleString('en');

/** The partitions /health says are blocked (each retried with backoff), 0 when none. */
function blockedCount(health: SaverHealth | null): number {
  return Array.isArray(health?.blocked) ? health.blocked.length : 0;
}

/**
 * Why /health says the savers are not well, in a line: the state, the error Postgres answered
 * with while they wait for it, the first blocked partition's reason, and the last crash.
 */
export function healthReason(health: SaverHealth): string {
  const parts = [`state ${String(health.state ?? 'unknown')}`];
  const postgres = health.postgres as { code?: unknown; error?: unknown } | undefined;
  if (postgres?.error) parts.push(`Postgres: ${String(postgres.error).slice(0, 160)}${postgres.code ? ` (${String(postgres.code)})` : ''}`);
  const blocked = Array.isArray(health.blocked) ? (health.blocked[0] as Record<string, unknown> | undefined) : undefined;
  if (blocked) {
    const where = [blocked.topic, blocked.partition].filter((p) => p !== undefined).join('/');
    parts.push(`blocked ${where}: ${String(blocked.reason ?? blocked.error ?? JSON.stringify(blocked)).slice(0, 160)}`);
  }
  const crash = health.lastCrash as { error?: unknown } | undefined;
  if (crash?.error) parts.push(`last crash: ${String(crash.error).slice(0, 160)}`);
  return parts.join('; ');
}

/**
 * The verdict from two samples `previous` -> `now` taken a status interval apart, and the health
 * now. A lag that grows by more than `slack` messages is "not keeping up"; nothing saved in
 * between while messages wait is "stalled" when the lag is above `slack` or /health says the
 * savers are not well (a few messages a blocked partition holds back are a stall too); saving
 * while /health lists blocked partitions is "partly stalled", never "keeping up".
 */
export function saverVerdict(
  previous: SaverSample | null,
  now: SaverSample,
  health: SaverHealth | null,
  exited: string | null,
  slack = 1000,
): SaverVerdict {
  if (exited) return { state: 'exited', text: `savers EXITED: ${exited}` };
  const why = health && !health.healthy ? ` (${healthReason(health)})` : '';
  if (Number.isNaN(now.lag)) return { state: 'unknown', text: `savers: lag unknown (Kafka not answering)${why}` };
  const lag = `lag ${n(now.lag)}`;
  if (!previous || Number.isNaN(previous.lag))
    return { state: 'keeping up', text: `savers ${health?.healthy === false ? 'unwell' : 'ok'}, ${lag}${why}` };
  const seconds = Math.max(1, Math.round((now.at - previous.at) / 1000));
  const savedPerSecond = Math.round((now.saved - previous.saved) / seconds);
  const unwell = health !== null && !health.healthy;
  if (now.saved === previous.saved && (now.lag > slack || (now.lag > 0 && unwell))) {
    return {
      state: 'stalled',
      text: `savers STALLED: nothing saved in ${seconds} s, ${lag} messages waiting${why || ` (${healthReason(health ?? { healthy: true })})`}`,
    };
  }
  if (now.lag - previous.lag > slack) {
    return {
      state: 'not keeping up',
      text: `savers NOT KEEPING UP: ${lag} (+${n(now.lag - previous.lag)} in ${seconds} s), saving ${n(savedPerSecond)}/s${why}`,
    };
  }
  const blocked = blockedCount(health);
  if (blocked > 0 && now.lag > 0) {
    return {
      state: 'partly stalled',
      text: `savers PARTLY STALLED: ${blocked} partition${blocked === 1 ? '' : 's'} blocked, ${lag}, saving ${n(savedPerSecond)}/s${why}`,
    };
  }
  return { state: 'keeping up', text: `savers keeping up, ${lag}, saving ${n(savedPerSecond)}/s${why}` };
}
