import { LambdamartError } from './errors.ts';

/** Rejects after `ms` with "`what` did not answer within `ms` ms" (LM_ERR_SERVICE_TIMEOUT): a probe must answer quickly. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LambdamartError('LM_ERR_SERVICE_TIMEOUT', `${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
