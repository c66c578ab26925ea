/**
 * The event contracts. These zod schemas are the source of truth for what the generators send,
 * what the speed layer accepts and what ends in the dead letters.
 */
import { z } from 'zod';

/** UTC ISO-8601 timestamp, e.g. 2026-11-21T10:15:30.123Z (an offset other than Z is refused). */
const utcTimestamp = z.iso.datetime({ precision: undefined, offset: false, local: false });
const id = z.string().min(1).max(100);
const money = z.number().finite().nonnegative();
const country = z.string().min(2).max(64);

export const TransactionLineSchema = z.object({
  product_id: id,
  quantity: z.number().int().min(1),
  price: money,
});

/** Money compares in whole cents: floating-point sums of prices are not exact. */
export const toCents = (amount: number): number => Math.round(amount * 100);

export const TransactionSchema = z
  .object({
    transaction_id: z.uuid(),
    user_id: id,
    session_id: id,
    products: z.array(TransactionLineSchema).min(1),
    total_amount: money,
    currency: z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code such as USD'),
    payment_method: z.string().min(1).max(32),
    country,
    transaction_timestamp: utcTimestamp,
  })
  .superRefine((tx, ctx) => {
    const lines = tx.products.reduce((sum, line) => sum + toCents(line.price) * line.quantity, 0);
    if (lines !== toCents(tx.total_amount)) {
      ctx.addIssue({
        code: 'custom',
        path: ['total_amount'],
        message: `total_amount ${tx.total_amount} is not the sum of the lines (${(lines / 100).toFixed(2)})`,
      });
    }
  });

export const ProductViewSchema = z.object({
  event_id: z.uuid(),
  event_type: z.literal('view'),
  user_id: id,
  product_id: id,
  session_id: id,
  view_duration: z.number().int().min(0).max(86_400),
  country,
  timestamp: utcTimestamp,
});

export const CartEventSchema = z.object({
  event_id: z.uuid(),
  event_type: z.enum(['add', 'remove']),
  user_id: id,
  product_id: id,
  session_id: id,
  quantity: z.number().int().min(1),
  price: money,
  country,
  timestamp: utcTimestamp,
});

export const CatalogRecordSchema = z.object({
  product_id: id,
  name: z.string().min(1).max(200),
  category: z.string().min(1).max(100),
  price: money,
  updated_at: utcTimestamp,
});

export type TransactionLine = z.infer<typeof TransactionLineSchema>;
export type TransactionEvent = z.infer<typeof TransactionSchema>;
export type ProductViewEvent = z.infer<typeof ProductViewSchema>;
export type CartEvent = z.infer<typeof CartEventSchema>;
export type CatalogRecord = z.infer<typeof CatalogRecordSchema>;

export const EventSchemas = {
  transaction: TransactionSchema,
  view: ProductViewSchema,
  cart: CartEventSchema,
  catalog: CatalogRecordSchema,
} as const;

export type EventKind = keyof typeof EventSchemas;
export type EventOf<K extends EventKind> = z.infer<(typeof EventSchemas)[K]>;

export type Validated<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Formats zod issues as one line: `products[0].quantity: Too small: expected number to be >=1; ...`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path
        .map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`))
        .join('');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/** Validates an already-parsed value against a contract; never throws. */
export function validateEvent<K extends EventKind>(kind: K, value: unknown): Validated<EventOf<K>> {
  const result = EventSchemas[kind].safeParse(value);
  return result.success ? { ok: true, value: result.data as EventOf<K> } : { ok: false, reason: describeIssues(result.error) };
}

/** Parses raw bytes (a Kafka message value) as JSON and validates it; never throws. */
export function parseEvent<K extends EventKind>(kind: K, raw: Buffer | string | null): Validated<EventOf<K>> {
  if (raw === null || raw.length === 0) return { ok: false, reason: 'empty message' };
  let value: unknown;
  try {
    value = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: `malformed JSON: ${(error as Error).message}` };
  }
  return validateEvent(kind, value);
}
