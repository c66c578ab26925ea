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

/** Messages below the stored offset are already saved (a re-fetch after a retry or a pause). */
export function unsaved<M extends { offset: string }>(messages: readonly M[], stored: string | null): M[] {
  if (stored === null) return [...messages];
  const from = BigInt(stored);
  return messages.filter((m) => BigInt(m.offset) >= from);
}

/** The next offset once a batch ending at `lastOffset` is saved, or null when it adds nothing new. */
export function nextOffsetAfter(lastOffset: string, stored: string | null): string | null {
  const next = BigInt(lastOffset) + 1n;
  return stored !== null && next <= BigInt(stored) ? null : next.toString();
}
