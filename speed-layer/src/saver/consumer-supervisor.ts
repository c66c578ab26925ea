/**
 * The savers' Kafka consumer: connected, subscribed and run (retried while Kafka is unreachable),
 * repositioned on every group join, restarted after a crash kafkajs does not restart itself, and
 * given up on after too many such crashes in a row (`failed`: the process exits non-zero).
 */
import { LambdamartError } from '@lambdamart/core';
import type { Consumer } from 'kafkajs';
import { backoffMs, describeError, sleep } from '../retry.ts';
import { keepBlockedPaused } from './blocked-partitions.ts';
import { eachBatch, startPositioning } from './fetch-loop.ts';
import { dropQueues } from './partition-queues.ts';
import type { SaverRuntime } from './runtime.ts';

/** Connects, subscribes and runs a new consumer; the state becomes `consuming` once it has joined the group. */
export async function connectToKafka(rt: SaverRuntime): Promise<void> {
  if (rt.stopping) return;
  rt.state = 'connecting-to-kafka';
  for (let attempt = 0; !rt.stopping; attempt++) {
    try {
      await rt.producer.connect();
      const consumer = createConsumer(rt);
      rt.consumer = consumer;
      await consumer.connect();
      await consumer.subscribe({ topics: [...rt.kindOf.keys()], fromBeginning: true });
      if (rt.stopping) return;
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: rt.concurrency,
        eachBatch: (payload) => eachBatch(rt, payload),
      });
      // A crash while joining has already handed over to restartConsumer.
      if (rt.consumer !== consumer || rt.stopping) return;
      clearInterval(rt.hintTimer);
      rt.hintTimer = setInterval(() => void commitHints(rt), 5_000);
      return;
    } catch (error) {
      const wait = backoffMs(attempt);
      rt.logger.error(
        { code: 'LM_ERR_KAFKA_UNREACHABLE', error: describeError(error), brokers: rt.config.kafka.brokers, retryInMs: wait },
        'Kafka is unreachable',
      );
      await rt.consumer?.disconnect().catch(() => undefined);
      rt.consumer = null;
      await sleep(wait, rt.abort.signal);
    }
  }
}

function createConsumer(rt: SaverRuntime): Consumer {
  const consumer = rt.kafka.consumer({
    groupId: rt.group,
    // A saver killed with -9 gives its partitions to the others within 10 s.
    sessionTimeout: 10_000,
    rebalanceTimeout: 60_000,
    heartbeatInterval: 3_000,
    maxBytesPerPartition: 1024 * 1024,
    maxBytes: 8 * 1024 * 1024,
    maxWaitTimeInMs: 500,
    // A consumer that crashed (Kafka gone for longer than its retries) restarts instead of dying.
    retry: { initialRetryTime: 300, retries: 10, restartOnFailure: async () => true },
  });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    if (consumer !== rt.consumer) return;
    if (rt.state === 'connecting-to-kafka' || rt.state === 'restarting') rt.state = 'consuming';
    rt.generation++;
    rt.positions.clear();
    dropQueues(rt);
    rt.assignment = payload.memberAssignment;
    keepBlockedPaused(rt, consumer);
    rt.logger.info({ assignment: payload.memberAssignment }, 'joined the group');
    startPositioning(rt);
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (consumer !== rt.consumer || rt.stopping) return;
    const error = describeError(payload.error);
    const code = 'LM_ERR_SPEED_CONSUMER_CRASHED';
    rt.lastCrash = { code, error, at: new Date().toISOString(), restartedBy: payload.restart ? 'kafkajs' : 'savers' };
    // Not consuming until it has joined the group again: /health says so meanwhile.
    if (rt.state === 'consuming' || rt.state === 'connecting-to-kafka') rt.state = 'restarting';
    if (payload.restart) {
      rt.logger.error({ code, error, restart: true }, 'consumer crashed; kafkajs restarts it');
      return;
    }
    // kafkajs gives up on a non-retriable error and leaves the consumer stopped: without this the
    // process would stay up, idle, and (before) healthy.
    rt.restarting = restartConsumer(rt, consumer, payload.error).finally(() => {
      rt.restarting = null;
    });
  });
  return consumer;
}

/**
 * A crash kafkajs does not restart: a new consumer after a backoff, and after
 * maxConsumerRestarts such restarts in a row, `failed` (the process exits non-zero).
 */
async function restartConsumer(rt: SaverRuntime, crashed: Consumer, error: Error): Promise<void> {
  // A crash long after the last one starts a new count (so does every saved batch).
  if (Date.now() - rt.lastRestartAt > 10 * 60_000) rt.consumerRestarts = 0;
  rt.lastRestartAt = Date.now();
  rt.consumerRestarts++;
  const described = describeError(error);
  clearInterval(rt.hintTimer);
  rt.consumer = null;
  if (rt.consumerRestarts > rt.maxConsumerRestarts) {
    rt.state = 'failed';
    rt.logger.fatal(
      { code: 'LM_ERR_SPEED_CONSUMER_FAILED', error: described, restarts: rt.maxConsumerRestarts },
      'the consumer keeps crashing with an error kafkajs does not retry; giving up so that a supervisor restarts the process',
    );
    await crashed.disconnect().catch(() => undefined);
    rt.giveUp(new LambdamartError('LM_ERR_SPEED_CONSUMER_FAILED', error.message, { cause: error }));
    return;
  }
  const wait = backoffMs(rt.consumerRestarts - 1, { initialMs: 1_000, maxMs: 30_000 });
  rt.metrics.consumerRestarts.inc();
  rt.logger.error(
    { code: 'LM_ERR_SPEED_CONSUMER_CRASHED', error: described, restart: false, restartInMs: wait, restartsInARow: rt.consumerRestarts },
    'consumer crashed with an error kafkajs does not retry; restarting it',
  );
  // What was read before the crash is not trusted after it (as after a rebalance).
  rt.generation++;
  rt.positions.clear();
  dropQueues(rt);
  rt.assignment = {};
  await crashed.disconnect().catch(() => undefined);
  await sleep(wait, rt.abort.signal);
  await connectToKafka(rt);
}

/** Passes the saved positions to Kafka as the group's offsets, so Kafka tools show the lag too. */
async function commitHints(rt: SaverRuntime): Promise<void> {
  const consumer = rt.consumer;
  if (!consumer || rt.stopping) return;
  const offsets = [...rt.positions.entries()]
    .filter(([, p]) => !p.hinted && p.stored !== null)
    .map(([key, p]) => {
      const [topic = '', partition = '0'] = key.split('|');
      p.hinted = true;
      return { topic, partition: Number(partition), offset: p.stored ?? '0' };
    });
  if (offsets.length === 0) return;
  await consumer.commitOffsets(offsets).catch((error) => rt.logger.debug({ error: describeError(error) }, 'offset hint not committed'));
}
