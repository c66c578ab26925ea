import { type Logger, pino } from 'pino';

export type { Logger };

/** A pino logger; `component` tags every line so one log stream can hold every layer. */
export function createLogger(component: string, level = 'info'): Logger {
  return pino({ name: 'lambdamart', level, base: { component }, timestamp: pino.stdTimeFunctions.isoTime });
}
