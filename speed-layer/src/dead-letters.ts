/**
 * Sending dead letters to Kafka so that a bad burst cannot stop the savers: the dead letters of a
 * batch are split into produce requests that fit the broker's message size (about 1 MiB by
 * default), compressed with gzip, their reason header capped, and a payload too big for one
 * message cut, keeping its size and hash (the dead_letters table keeps it whole, and the source
 * topic, partition and offset say where the original is). A topic that still refuses them, or
 * cannot be reached, throws DeadLettersRefused after a few quick tries, never retries for ever.
 */
import { createHash } from 'node:crypto';
import { DeadLetterHeaders, type EventProducer, LambdamartError, type OutgoingMessage } from '@lambdamart/core';
import { backoffMs, describeError, sleep } from './retry.ts';

export interface DeadLetterLimits {
  /** Estimated bytes of one produce request (uncompressed; the broker checks the compressed size). */
  maxRequestBytes: number;
  /** A longer payload is cut to this many bytes, with its size and hash in headers. */
  maxPayloadBytes: number;
  /** A longer reason is cut in the header (the table keeps it whole). */
  maxReasonChars: number;
}

/** Well under the broker's default message.max.bytes (1,048,588) even before compression. */
export const DEFAULT_DEAD_LETTER_LIMITS: DeadLetterLimits = {
  maxRequestBytes: 768 * 1024,
  maxPayloadBytes: 512 * 1024,
  maxReasonChars: 1000,
};

export interface DeadLetterSource {
  topic: string;
  partition: number;
}

export interface DeadLetterInput {
  offset: string;
  reason: string;
  raw: Buffer | null;
}

/**
 * The dead-letter topic refused the dead letters (even split and cut) or could not be reached.
 * Retriable: the saver pauses the partition and tries again later.
 */
export class DeadLettersRefused extends LambdamartError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('LM_ERR_SPEED_DEAD_LETTERS_REFUSED', message, { cause: options.cause });
    this.name = 'DeadLettersRefused';
  }
}

/** Per-record bytes Kafka adds around key, value and headers (lengths, deltas, attributes), rounded up. */
const RECORD_OVERHEAD_BYTES = 32;

export function capReason(reason: string, maxChars: number): string {
  return reason.length <= maxChars ? reason : `${reason.slice(0, maxChars)}... (${reason.length} characters in all)`;
}

/** One dead letter as a Kafka message; `payloadCap` bytes of its payload at most. */
export function deadLetterMessage(
  source: DeadLetterSource,
  input: DeadLetterInput,
  limits: Pick<DeadLetterLimits, 'maxReasonChars'> & { payloadCap: number },
): OutgoingMessage {
  const headers: Record<string, string> = {
    [DeadLetterHeaders.reason]: capReason(input.reason, limits.maxReasonChars),
    [DeadLetterHeaders.sourceTopic]: source.topic,
    [DeadLetterHeaders.sourcePartition]: String(source.partition),
    [DeadLetterHeaders.sourceOffset]: input.offset,
  };
  const raw = input.raw ?? Buffer.alloc(0);
  let value = raw;
  if (raw.length > limits.payloadCap) {
    value = raw.subarray(0, limits.payloadCap);
    headers[DeadLetterHeaders.payloadTruncated] = 'true';
    headers[DeadLetterHeaders.payloadBytes] = String(raw.length);
    headers[DeadLetterHeaders.payloadSha256] = createHash('sha256').update(raw).digest('hex');
  }
  return { key: source.topic, value, headers };
}

export function estimatedBytes(message: OutgoingMessage): number {
  let bytes = RECORD_OVERHEAD_BYTES + Buffer.byteLength(message.key ?? '') + Buffer.byteLength(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {})) bytes += 4 + Buffer.byteLength(name) + Buffer.byteLength(value);
  return bytes;
}

/** Consecutive runs of items whose estimated bytes add up to at most maxBytes (an item alone may exceed it). */
export function splitBySize<T>(items: readonly T[], bytesOf: (item: T) => number, maxBytes: number): T[][] {
  const requests: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    const bytes = bytesOf(item);
    if (current.length > 0 && size + bytes > maxBytes) {
      requests.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += bytes;
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

/** The broker said the request or a message is too big for the topic (max.message.bytes). */
export function isTooLarge(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 6; depth++) {
    const { type, message } = e as { type?: unknown; message?: unknown };
    if (type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE') return true;
    if (typeof message === 'string' && /larger than the max|too large/i.test(message)) return true;
    e = (e as { cause?: unknown; originalError?: unknown }).cause ?? (e as { originalError?: unknown }).originalError;
  }
  return false;
}

interface Pending {
  input: DeadLetterInput;
  message: OutgoingMessage;
  payloadCap: number;
}

export class DeadLetterSender {
  constructor(
    private readonly producer: EventProducer,
    private readonly topic: string,
    private readonly limits: DeadLetterLimits = DEFAULT_DEAD_LETTER_LIMITS,
    private readonly options: { attempts?: number; signal?: AbortSignal } = {},
  ) {}

  /**
   * Sends the dead letters of one partition batch, in order, in as many requests as they need.
   * `heartbeat` runs between tries, so a slow topic does not cost the group membership.
   * Throws DeadLettersRefused when the topic will not take them.
   */
  async send(source: DeadLetterSource, inputs: readonly DeadLetterInput[], heartbeat?: () => Promise<void>): Promise<{ requests: number }> {
    const pending = inputs.map((input) => this.pending(source, input, this.limits.maxPayloadBytes));
    let requests = 0;
    for (const request of splitBySize(pending, (p) => estimatedBytes(p.message), this.limits.maxRequestBytes)) {
      requests += await this.sendFitting(source, request, heartbeat);
    }
    return { requests };
  }

  private pending(source: DeadLetterSource, input: DeadLetterInput, payloadCap: number): Pending {
    return { input, payloadCap, message: deadLetterMessage(source, input, { maxReasonChars: this.limits.maxReasonChars, payloadCap }) };
  }

  /** A request the topic finds too large is halved; one message too large has its payload cut further. */
  private async sendFitting(source: DeadLetterSource, request: Pending[], heartbeat?: () => Promise<void>): Promise<number> {
    const attempts = this.options.attempts ?? 3;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.producer.send(
          this.topic,
          request.map((p) => p.message),
        );
        return 1;
      } catch (error) {
        if (isTooLarge(error)) {
          if (request.length > 1) {
            const half = Math.ceil(request.length / 2);
            return (
              (await this.sendFitting(source, request.slice(0, half), heartbeat)) +
              (await this.sendFitting(source, request.slice(half), heartbeat))
            );
          }
          const [one] = request as [Pending];
          const cap = Math.min(one.payloadCap, one.input.raw?.length ?? 0);
          if (cap > 0) return this.sendFitting(source, [this.pending(source, one.input, Math.floor(cap / 8))], heartbeat);
          throw new DeadLettersRefused(
            `the dead-letter topic ${this.topic} refuses even a dead letter without payload (offset ${one.input.offset} of ${source.topic}/${source.partition}): ${describeError(error)}`,
            { cause: error },
          );
        }
        if (attempt + 1 >= attempts || this.options.signal?.aborted) {
          throw new DeadLettersRefused(`sending dead letters to ${this.topic} failed ${attempt + 1} times: ${describeError(error)}`, {
            cause: error,
          });
        }
        await sleep(backoffMs(attempt), this.options.signal);
        await heartbeat?.().catch(() => undefined);
      }
    }
  }
}
