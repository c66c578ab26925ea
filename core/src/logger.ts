import { type Logger, pino } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export interface LoggerOptions {
  /**
   * Human-readable lines (pino-pretty) instead of JSON. Default: when stdout is a terminal, so a
   * person at a TTY reads sentences while a pipe, a file or a log shipper gets one JSON per line.
   */
  pretty?: boolean;
}

/** A pino logger; `component` tags every line so one log stream can hold every layer. */
export function createLogger(component: string, level = 'info', options: LoggerOptions = {}): Logger {
  const settings = { name: 'lambdamart', level, base: { component }, timestamp: pino.stdTimeFunctions.isoTime };
  if (!(options.pretty ?? process.stdout.isTTY === true)) return pino(settings);
  // Synchronous, in this thread: no worker to lose lines at exit, and the order of lines is kept.
  const stream = pretty({
    sync: true,
    colorize: process.stdout.hasColors?.() ?? false,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,name',
  });
  return pino(settings, stream);
}
