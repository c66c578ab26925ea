/**
 * Where a partition resumes. Postgres (consumer_offsets) is the truth; the offset Kafka fetched
 * from is only a hint (the group's committed offset, or where kafkajs got to). Pure, for tests.
 */

/** On the first batch after an assignment: save it, or seek to the stored offset first. */
export function firstBatchAction(stored: string | null, fetchedOffset: string): { action: 'save' } | { action: 'seek'; offset: string } {
  // No row yet: everything from the start of the partition (kafkajs resets an out-of-range 0 to the earliest offset).
  const target = stored ?? '0';
  return fetchedOffset === target ? { action: 'save' } : { action: 'seek', offset: target };
}

/**
 * Messages below the stored offset are already saved (a re-fetch after a retry or a pause). A
 * batch's offsets ascend, so a batch whose first message is not below it is returned as it is.
 */
export function unsaved<M extends { offset: string }>(messages: readonly M[], stored: string | null): readonly M[] {
  if (stored === null || messages.length === 0) return messages;
  const from = BigInt(stored);
  if (BigInt((messages[0] as M).offset) >= from) return messages;
  return messages.filter((m) => BigInt(m.offset) >= from);
}

/** The next offset once a batch ending at `lastOffset` is saved, or null when it adds nothing new. */
export function nextOffsetAfter(lastOffset: string, stored: string | null): string | null {
  const next = BigInt(lastOffset) + 1n;
  return stored !== null && next <= BigInt(stored) ? null : next.toString();
}

/**
 * A stored offset past the partition's high watermark belongs to a log that no longer exists: the
 * topic was recreated or the broker's data wiped while the database was kept. Offsets never move
 * back in a live log, so this is the one case where the database is not the truth.
 */
export function storedBeyondLog(stored: string | null, highWatermark: string): boolean {
  return stored !== null && BigInt(stored) > BigInt(highWatermark);
}
