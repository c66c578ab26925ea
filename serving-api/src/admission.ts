/**
 * Admission to a database: at most `slots` reads at once (the pool's connections), at most
 * `queue` more waiting, each at most `waitMs`. Beyond that the API is overloaded and says so
 * (503 LM_ERR_API_OVERLOADED with Retry-After) instead of queueing without bound: every waiting
 * read holds its request, and with the cache off a burst of them grew the process past 300 MB.
 */
import { ApiError } from './errors.ts';

export function overloaded(database: string): ApiError {
  return new ApiError(
    503,
    'LM_ERR_API_OVERLOADED',
    `too many reads are waiting for the ${database} database; retry in a second`,
    undefined,
    { 'retry-after': '1' },
  );
}

export class Admission {
  private running = 0;
  private readonly waiting: { admit: () => void; timer: NodeJS.Timeout }[] = [];

  constructor(
    private readonly name: string,
    private readonly limits: { slots: number; queue: number; waitMs: number },
  ) {}

  async run<T>(use: () => Promise<T>): Promise<T> {
    await this.enter();
    try {
      return await use();
    } finally {
      this.leave();
    }
  }

  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  private enter(): Promise<void> {
    if (this.running < this.limits.slots) {
      this.running++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.limits.queue) return Promise.reject(overloaded(this.name));
    return new Promise((resolve, reject) => {
      const entry = {
        admit: () => {
          clearTimeout(entry.timer);
          resolve();
        },
        timer: setTimeout(() => {
          const at = this.waiting.indexOf(entry);
          if (at >= 0) this.waiting.splice(at, 1);
          reject(overloaded(this.name));
        }, this.limits.waitMs),
      };
      this.waiting.push(entry);
    });
  }

  private leave(): void {
    const next = this.waiting.shift();
    // The slot passes straight to the next waiting read.
    if (next) next.admit();
    else this.running--;
  }
}
