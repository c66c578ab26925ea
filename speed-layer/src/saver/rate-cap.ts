/**
 * An optional cap on the events the savers take from Kafka per second (`lambdamart speed
 * --max-rate`), for benchmarks that want a given ingest rate from a backlog: a token bucket
 * holding one second's worth, shared by every partition. A batch larger than the bucket waits
 * for a full bucket and leaves it in debt, so the average stays at the cap.
 */
import { sleep } from '../retry.ts';

export type RateCap = (events: number, signal?: AbortSignal) => Promise<void>;

export function rateCap(perSecond: number, now: () => number = () => performance.now()): RateCap {
  let tokens = perSecond;
  let last = now();
  return async (events, signal) => {
    for (;;) {
      const at = now();
      tokens = Math.min(perSecond, tokens + ((at - last) / 1000) * perSecond);
      last = at;
      const needed = Math.min(events, perSecond);
      if (tokens >= needed || signal?.aborted) {
        tokens -= events;
        return;
      }
      await sleep(Math.ceil(((needed - tokens) / perSecond) * 1000), signal);
    }
  };
}
