import { type Admin, Kafka, type KafkaConfig, logLevel as KafkaLogLevel, type logCreator } from 'kafkajs';
import { registerKafkaCodecs } from './codecs.ts';
import { RepeatedLines } from './log-repeats.ts';
import type { Logger } from './logger.ts';
import { within } from './within.ts';

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

/** Runs `use` with a connected admin of `kafka`, and disconnects it afterwards whatever happens. */
export async function withAdmin<T>(kafka: Kafka, use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    return await use(admin);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** One partition's log: `low` is its first offset still kept, `high` the next offset to be written. */
export interface PartitionBounds {
  topic: string;
  partition: number;
  low: string;
  high: string;
}

/**
 * Each partition's first and next offsets in `topics`, read through a connected admin. Rejects
 * with LM_ERR_SERVICE_TIMEOUT when Kafka has not answered within `timeoutMs` (kafkajs would
 * otherwise retry for a minute).
 */
export async function partitionBounds(admin: Admin, topics: readonly string[], timeoutMs = 5000): Promise<PartitionBounds[]> {
  const read = Promise.all(
    topics.map(async (topic) =>
      (await admin.fetchTopicOffsets(topic)).map(({ partition, low, high }) => ({ topic, partition, low, high })),
    ),
  );
  return (await within(read, timeoutMs, 'Kafka')).flat();
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
