/**
 * Deliberately bad events (`--bad-rate`): what a real source sends now and then, so that the
 * dead-letter path gets exercised. Each is derived from a good event and marked with its kind.
 */
import { type BadEventKind, BadEventKinds } from './bad-event-kinds.ts';
import type { GeneratedEvent } from './generated-event.ts';
import type { Rng } from './random.ts';

const requiredField: Record<string, string[]> = {
  view: ['user_id', 'timestamp', 'product_id', 'event_id'],
  cart: ['user_id', 'timestamp', 'product_id', 'quantity'],
  transaction: ['user_id', 'transaction_timestamp', 'products', 'total_amount'],
};

/** Which bad kinds make sense for an event of this kind (a view has no quantity, only a transaction a total). */
function kindsFor(event: GeneratedEvent): BadEventKind[] {
  return BadEventKinds.filter((kind) => {
    if (kind === 'negative_quantity') return event.kind === 'cart' || event.kind === 'transaction';
    if (kind === 'wrong_total') return event.kind === 'transaction';
    return true;
  });
}

/**
 * A bad event derived from `good`. A duplicate reuses the id of a recent event (an at-least-once
 * redelivery, which idempotent writes must absorb); the others break the contract in one place.
 */
export function makeBadEvent(rng: Rng, good: GeneratedEvent, recent: readonly GeneratedEvent[], productCount: number): GeneratedEvent {
  const bad = rng.pick(kindsFor(good));
  const event = structuredClone(good.event) as unknown as Record<string, unknown>;
  const base = { kind: good.kind, topic: good.topic, key: good.key, time: good.time, bad } as const;
  switch (bad) {
    case 'malformed_json': {
      const json = JSON.stringify(event);
      return { ...base, event: good.event, raw: json.slice(0, Math.max(1, json.length - 1 - rng.int(20))) } as GeneratedEvent;
    }
    case 'missing_field': {
      const fields = requiredField[good.kind] ?? ['user_id'];
      delete event[rng.pick(fields)];
      break;
    }
    case 'negative_quantity': {
      if (good.kind === 'cart') event.quantity = -(event.quantity as number);
      else {
        const lines = event.products as { quantity: number }[];
        const line = lines[0] as { quantity: number };
        line.quantity = -line.quantity;
      }
      break;
    }
    case 'wrong_total':
      event.total_amount = Math.round(((event.total_amount as number) + 1 + rng.int(5000) / 100) * 100) / 100;
      break;
    case 'unknown_product': {
      const unknown = `prod_${String(productCount + 1 + rng.int(9000)).padStart(4, '0')}`;
      if (good.kind === 'transaction') {
        const lines = event.products as { product_id: string }[];
        (lines[0] as { product_id: string }).product_id = unknown;
      } else {
        event.product_id = unknown;
      }
      break;
    }
    case 'duplicate_id': {
      const earlier = recent.length > 0 ? rng.pick(recent) : good;
      return { ...earlier, bad } as GeneratedEvent;
    }
  }
  return { ...base, event } as GeneratedEvent;
}
