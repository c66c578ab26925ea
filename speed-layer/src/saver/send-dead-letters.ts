/**
 * Dead letters go to Kafka before the transaction that records them commits: at least once there,
 * exactly once in the table. A topic that refuses them blocks the partition (blocked-partitions.ts).
 */
import type { EachBatchPayload } from 'kafkajs';
import type { PreparedBatch } from '../batch.ts';
import { DeadLettersRefused } from '../dead-letters.ts';
import { describeError } from '../retry.ts';
import { block } from './blocked-partitions.ts';
import type { SaverRuntime } from './runtime.ts';

/** True once the dead letters are on the topic (or there are none); false when the partition was blocked. */
export async function sendDeadLetters(
  rt: SaverRuntime,
  payload: EachBatchPayload,
  prepared: Pick<PreparedBatch, 'deadLetters'>,
): Promise<boolean> {
  if (prepared.deadLetters.length === 0) return true;
  const { batch } = payload;
  try {
    const { requests } = await rt.deadLetters.send({ topic: batch.topic, partition: batch.partition }, prepared.deadLetters, () =>
      payload.heartbeat(),
    );
    if (requests > 1) {
      rt.logger.debug(
        { topic: batch.topic, partition: batch.partition, deadLetters: prepared.deadLetters.length, requests },
        'dead letters sent',
      );
    }
    return true;
  } catch (error) {
    const refused = error instanceof DeadLettersRefused ? error : new DeadLettersRefused(describeError(error), { cause: error });
    if (!rt.stopping) block(rt, batch.topic, batch.partition, 'dead-letters', refused);
    return false;
  }
}
