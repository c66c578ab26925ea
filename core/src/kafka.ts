import { Kafka, type KafkaConfig, logLevel as KafkaLogLevel, type logCreator } from 'kafkajs';
import { registerKafkaCodecs } from './codecs.ts';
import { RepeatedLines } from './log-repeats.ts';
import type { Logger } from './logger.ts';

/**
 * A kafkajs client whose log lines go through our pino logger. Without a logger it logs nothing:
 * a command-line caller reports failures itself, in one line. Its consumers read batches in every
 * codec Kafka has (see codecs.ts).
 */
export function createKafka(options: { brokers: string[]; clientId: string; logger?: Logger } & Partial<KafkaConfig>): Kafka {
  const { brokers, clientId, logger, ...rest } = options;
  registerKafkaCodecs();
  return new Kafka({
    brokers,
    clientId,
    logLevel: logger ? KafkaLogLevel.WARN : KafkaLogLevel.NOTHING,
    logCreator: logger ? pinoLogCreator(logger) : undefined,
    retry: { initialRetryTime: 200, retries: 8 },
    ...rest,
  });
}

/**
 * kafkajs logs every attempt of its retry loops (a broker restarting, an offset out of range): the
 * same line is logged once per 30 s, with the count of those held back.
 */
function pinoLogCreator(logger: Logger): logCreator {
  const lines = new RepeatedLines();
  return () =>
    ({ level, log }) => {
      const { message, ...extra } = log;
      const { log: shown, repeated } = lines.admit(`${level} ${extra.logger ?? ''} ${message} ${extra.error ?? ''}`);
      if (!shown) return;
      const child = { kafka: extra.logger ?? 'kafkajs', ...extra, ...(repeated > 0 ? { repeated } : {}) };
      if (level <= KafkaLogLevel.ERROR) logger.error(child, message);
      else if (level === KafkaLogLevel.WARN) logger.warn(child, message);
      else if (level === KafkaLogLevel.INFO) logger.info(child, message);
      else logger.debug(child, message);
    };
}
