/**
 * The synthetic event source: catalog records first, then shopping sessions (views, cart adds and
 * removals, purchases of what was carted) in event-time order. Pure and deterministic: the same
 * options give the same events, ids included. The work is split into virtual shards (shards.ts)
 * that worker threads run side by side; merged, they give this same sequence for any number of them.
 */
import { type CartEvent, type ProductViewEvent, Topics, type TransactionEvent } from '@lambdamart/core';
import { makeBadEvent } from './bad-events.ts';
import type { GeneratedEvent } from './generated-event.ts';
import { DefaultMix, type EventMix, expectedMix, type Funnel, funnelFor } from './mix.ts';
import { formatUuid, Rng, WeightedSampler, zipfWeights } from './random.ts';
import { MaxSeasonality, seasonality } from './seasonality.ts';
import { apportion, mergeByTime, type ShardEvent, Shards, shardOf, streamSeed } from './shards.ts';
import {
  buildCustomers,
  buildProducts,
  CatalogHistory,
  type Customer,
  moveCustomer,
  PaymentMethods,
  type Product,
  productSampler,
} from './world.ts';

export interface GeneratorOptions {
  seed?: number;
  users?: number;
  products?: number;
  mix?: EventMix;
  /** Event time of the catalog and the first session (epoch ms). Default: now. */
  start?: number;
  /** History mode: generate this many days of event time from `start`, with seasonality, then stop. */
  days?: number;
  /** History mode: mean user events per day (default 20,000). */
  eventsPerDay?: number;
  /** Live mode: mean user events per second of event time (default 500). */
  eventsPerSecond?: number;
  /**
   * Stop after this many user events (views, carts, transactions; bad ones not counted). Each
   * shard makes its share (by weight), so the total is exact whatever the number of workers.
   */
  count?: number;
  /** Share of user events followed by a deliberately bad one (0..1). */
  badRate?: number;
  /**
   * Mean days between two changes (a price or a category) of one product. The changes are a
   * function of the seed and of time alone, so every run agrees on the catalog at any moment.
   */
  productChangeIntervalDays?: number;
  /** Probability per session that its customer has moved country. */
  customerMoveRate?: number;
}

export const GeneratorDefaults = {
  seed: 42,
  users: 50_000,
  products: 500,
  eventsPerDay: 20_000,
  eventsPerSecond: 500,
  badRate: 0,
  productChangeIntervalDays: 30,
  customerMoveRate: 0.001,
} as const;

const paymentSampler = new WeightedSampler(PaymentMethods.map(([, w]) => w));
const quantities = new WeightedSampler([75, 18, 7]);

/** What every shard of a run shares: the world as the seed makes it, the rates and the limits. */
interface RunPlan {
  seed: number;
  start: number;
  end: number;
  /** Seeds the session streams with the start, so two live runs never repeat each other's ids. */
  startSeed: number;
  funnel: Funnel;
  badRate: number;
  customerMoveRate: number;
  productChangeIntervalDays: number;
  history: boolean;
  sessionsPerMs: number;
  eventsPerMs: number;
  peak: number;
  /** The products as the seed makes them; each shard changes a copy of its own over time. */
  products: readonly Product[];
  customers: Customer[];
  /** Popularity of products: indexes, most popular first (Zipf over this order). */
  productOrder: readonly number[];
  /** Each customer's Zipf weight, from their rank in a seeded shuffle. */
  customerWeights: Float64Array;
  /** Share of the sessions each shard makes: the sum of its customers' weights. */
  shardWeights: readonly number[];
  /** User events each shard makes before it stops (`count` split by weight), or Infinity. */
  quotas: readonly number[];
}

function planRun(options: GeneratorOptions): RunPlan {
  const seed = options.seed ?? GeneratorDefaults.seed;
  const funnel = funnelFor(options.mix ?? DefaultMix);
  const start = options.start ?? Date.now();
  const history = options.days !== undefined;
  const share = expectedMix(funnel);
  const eventsPerSession = 1 / (share.view / funnel.meanViews);
  const eventsPerMs = history
    ? (options.eventsPerDay ?? GeneratorDefaults.eventsPerDay) / 86_400_000
    : (options.eventsPerSecond ?? GeneratorDefaults.eventsPerSecond) / 1000;

  // The world: the same for every run of a seed, whatever its start. Customer and product
  // popularity are part of it (a seeded shuffle under Zipf weights), so the busiest customers
  // and best sellers are the same in every run and on every thread.
  const worldRng = new Rng(seed);
  const products = buildProducts(worldRng, options.products ?? GeneratorDefaults.products);
  const customers = buildCustomers(worldRng, options.users ?? GeneratorDefaults.users);
  const popularity = new Rng(streamSeed(seed, 0x909a1a47));
  const customerRanks = popularity.shuffled(customers.map((_, i) => i));
  const productOrder = popularity.shuffled(products.map((_, i) => i));
  const customerWeights = new Float64Array(customers.length);
  const rankWeights = zipfWeights(customers.length, 0.8);
  customerRanks.forEach((customer, rank) => {
    customerWeights[customer] = rankWeights[rank] as number;
  });
  const shardWeights = new Array<number>(Shards).fill(0);
  customerWeights.forEach((w, i) => {
    shardWeights[shardOf(i)] = (shardWeights[shardOf(i)] as number) + w;
  });
  const count = options.count;
  return {
    seed,
    start,
    end: history ? start + (options.days as number) * 86_400_000 : Number.POSITIVE_INFINITY,
    startSeed: Math.floor(start / 1000) % 0x7fffffff,
    funnel,
    badRate: options.badRate ?? GeneratorDefaults.badRate,
    customerMoveRate: options.customerMoveRate ?? GeneratorDefaults.customerMoveRate,
    productChangeIntervalDays: options.productChangeIntervalDays ?? GeneratorDefaults.productChangeIntervalDays,
    history,
    sessionsPerMs: eventsPerMs / eventsPerSession,
    eventsPerMs,
    peak: history ? MaxSeasonality : 1,
    products,
    customers,
    productOrder,
    customerWeights,
    shardWeights,
    quotas: count === undefined ? shardWeights.map(() => Number.POSITIVE_INFINITY) : apportion(count, shardWeights),
  };
}

/**
 * Events of every kind, in the order to send them: the shards merged by event time. A worker
 * thread that runs some of the shards (`shards`) gives exactly their part of this sequence.
 */
export function* generateEvents(options: GeneratorOptions = {}, shards?: readonly number[]): Generator<GeneratedEvent> {
  for (const { event } of generateShardEvents(options, shards)) yield event;
}

/** generateEvents with the shard of each event (what the main thread merges workers' output by). */
export function generateShardEvents(options: GeneratorOptions = {}, shards?: readonly number[]): Generator<ShardEvent> {
  const plan = planRun(options);
  const which = shards ?? Array.from({ length: Shards }, (_, shard) => shard);
  return mergeByTime(which.map((shard) => shardEvents(plan, shard)));
}

/** Share of a run's events that these shards make (for splitting a --rate between workers). */
export function shardShare(options: GeneratorOptions, shards: readonly number[]): number {
  const plan = planRun(options);
  const total = plan.shardWeights.reduce((a, b) => a + b, 0);
  return shards.reduce((sum, shard) => sum + (plan.shardWeights[shard] as number), 0) / total;
}

/**
 * One shard: the sessions of its customers and the catalog records of its products, in event-time
 * order. Each shard has its own random streams and its own copy of the products (whose prices
 * change with time), so it needs nothing from the others.
 */
function* shardEvents(plan: RunPlan, shard: number): Generator<ShardEvent> {
  const { start, end, funnel, badRate, customerMoveRate, history, peak } = plan;
  const quota = plan.quotas[shard] as number;
  const totalWeight = plan.shardWeights.reduce((a, b) => a + b, 0);
  const sessionsPerMs = (plan.sessionsPerMs * (plan.shardWeights[shard] as number)) / totalWeight;

  // Separate streams: the sessions and the bad events, so that adding bad events (or changing
  // their rate) leaves the good events exactly as they were. The start time is part of their seed:
  // two live runs (start = now) never repeat each other's event ids, which idempotent consumers
  // would drop as duplicates; the same seed and start give the same events again.
  const rng = new Rng(streamSeed(plan.seed, 0x5eed5e55, plan.startSeed, shard));
  const badRng = new Rng(streamSeed(plan.seed, 0x0badbad0, plan.startSeed, shard));

  const products = plan.products.map((p) => ({ ...p }));
  const owned = new Set(products.filter((_, i) => shardOf(i) === shard).map((p) => p.id));
  const members = plan.customers.flatMap((customer, i) => (shardOf(i) === shard ? [customer] : []));
  const memberSampler =
    members.length > 0 ? new WeightedSampler(members.map((_, k) => plan.customerWeights[k * Shards + shard] as number)) : undefined;
  const pickProduct = productSampler(
    rng,
    plan.productOrder.map((i) => products[i] as Product),
  );
  const catalog = new CatalogHistory(plan.seed, products, plan.productChangeIntervalDays, start);
  const tag = (event: GeneratedEvent): ShardEvent => ({ event, shard });

  // The catalog as it stands at the start, each version dated from when it began: a run never
  // sends a product's base record over a price change that an earlier run (or time) made.
  catalog.catchUp(start);
  for (const record of catalog.currentRecords()) {
    if (!owned.has(record.product_id)) continue;
    yield tag({ kind: 'catalog', topic: Topics.productCatalog.name, key: record.product_id, time: start, event: record });
  }
  if (memberSampler === undefined || sessionsPerMs <= 0) return;

  // Pending events wait in buckets of event time (about 200 events each): a session's events are
  // all made when it starts, and a bucket is sent, sorted by time, once no new session can reach it.
  const eventsPerMs = (plan.eventsPerMs * (plan.shardWeights[shard] as number)) / totalWeight;
  const bucketMs = Math.max(1000, Math.round(200 / eventsPerMs));
  const buckets = new Map<number, (GeneratedEvent | PendingEvent)[]>();
  const enqueue = (event: GeneratedEvent | PendingEvent) => {
    const bucket = Math.floor(event.time / bucketMs);
    const list = buckets.get(bucket);
    if (list) list.push(event);
    else buckets.set(bucket, [event]);
  };
  const recent: GeneratedEvent[] = [];
  let nextBucket = Math.floor(start / bucketMs);
  let sent = 0;
  let clock = start;

  for (;;) {
    // Next session arrival: a Poisson process thinned by the seasonality of its time.
    do clock += rng.exponential(1 / (sessionsPerMs * peak));
    while (history && !rng.chance(seasonality(clock) / peak));
    // Catalog changes up to this session (every shard applies them to its prices; it sends those
    // of its own products), queued before their buckets can close.
    for (const change of catalog.advanceTo(Math.min(clock, end))) {
      const record = change.record;
      if (!owned.has(record.product_id)) continue;
      enqueue({ kind: 'catalog', topic: Topics.productCatalog.name, key: record.product_id, time: change.time, event: record });
    }
    const closed = Math.floor(Math.min(clock, end) / bucketMs) + (clock >= end ? 1 : 0);
    for (; nextBucket < closed; nextBucket++) {
      const list = buckets.get(nextBucket);
      if (list === undefined) continue;
      buckets.delete(nextBucket);
      list.sort(byTime); // stable: ties keep the order they were made in
      for (const item of list) {
        if (item.time >= end || sent >= quota) return;
        const event = item instanceof PendingEvent ? item.materialize() : item;
        yield tag(event);
        if (event.kind === 'catalog') continue;
        sent++;
        if (badRate > 0 && badRng.chance(badRate)) yield tag(makeBadEvent(badRng, event, recent, products.length));
        if (badRate > 0) {
          recent.push(event);
          if (recent.length > 64) recent.shift();
        }
      }
    }
    if (clock >= end || sent >= quota) return;
    const customer = members[memberSampler.sample(rng)] as Customer;
    if (rng.chance(customerMoveRate)) moveCustomer(rng, customer);
    for (const event of shoppingSession(rng, funnel, customer, pickProduct, clock)) enqueue(event);
  }
}

const byTime = (a: { time: number }, b: { time: number }) => a.time - b.time;

/** What the views and cart events of a session share. */
interface Visit {
  user: string;
  sessionId: string;
  country: string;
}

/**
 * A view or cart event as its session makes it: its random draws taken (the id's four words
 * included), its objects and strings not yet made. Sessions are made when they start and wait in
 * the buckets for minutes of event time, so the pending events outlive the young generation of
 * the heap; kept this small, the garbage collector copies and marks a third of what it would for
 * finished events. `materialize` makes the event when its bucket closes.
 */
export class PendingEvent {
  constructor(
    readonly kind: 'view' | 'add' | 'remove',
    readonly time: number,
    readonly visit: Visit,
    readonly productId: string,
    /** The view's duration (s) or the cart line's quantity. */
    readonly amount: number,
    readonly priceCents: number,
    readonly id0: number,
    readonly id1: number,
    readonly id2: number,
    readonly id3: number,
  ) {}

  materialize(): GeneratedEvent {
    const { visit, time } = this;
    const eventId = formatUuid(this.id0, this.id1, this.id2, this.id3);
    const timestamp = new Date(time).toISOString();
    if (this.kind === 'view') {
      const view: ProductViewEvent = {
        event_id: eventId,
        event_type: 'view',
        user_id: visit.user,
        product_id: this.productId,
        session_id: visit.sessionId,
        view_duration: this.amount,
        country: visit.country,
        timestamp,
      };
      return { kind: 'view', topic: Topics.productViews.name, key: visit.user, time, event: view };
    }
    const cart: CartEvent = {
      event_id: eventId,
      event_type: this.kind,
      user_id: visit.user,
      product_id: this.productId,
      session_id: visit.sessionId,
      quantity: this.amount,
      price: this.priceCents / 100,
      country: visit.country,
      timestamp,
    };
    return { kind: 'cart', topic: Topics.cartEvents.name, key: visit.user, time, event: cart };
  }
}

function pending(
  rng: Rng,
  kind: PendingEvent['kind'],
  time: number,
  visit: Visit,
  productId: string,
  amount: number,
  priceCents: number,
): PendingEvent {
  return new PendingEvent(kind, time, visit, productId, amount, priceCents, rng.uint32(), rng.uint32(), rng.uint32(), rng.uint32());
}

/**
 * One visit: views, some cart adds (and removals), and maybe a purchase of what stayed in the
 * cart. Views and cart events come pending (`PendingEvent.materialize` makes them), purchases made.
 */
export function shoppingSession(
  rng: Rng,
  funnel: Funnel,
  customer: Customer,
  pickProduct: ReturnType<typeof productSampler>,
  startTime: number,
): (GeneratedEvent | PendingEvent)[] {
  const events: (GeneratedEvent | PendingEvent)[] = [];
  const visit: Visit = { user: customer.id, sessionId: rng.uuid(), country: customer.country };
  const user = visit.user;
  const sessionId = visit.sessionId;
  const country = visit.country;
  const cart = new Map<Product, { quantity: number; priceCents: number }>();
  // A product is carted at most once a session: a re-add after a removal would race the removal's time.
  const carted = new Set<Product>();
  let views = 1;
  while (views < 40 && rng.chance(1 - 1 / funnel.meanViews)) views++;

  let time = startTime;
  let last = startTime;
  let focus = -1;
  for (let i = 0; i < views; i++) {
    const product = focus >= 0 && rng.chance(0.7) ? pickProduct.inCategory(focus) : pickProduct.any();
    if (focus < 0) focus = product.categoryIndex;
    const duration = Math.min(1800, Math.max(1, Math.round(rng.logNormal(30, 0.9))));
    events.push(pending(rng, 'view', time, visit, product.id, duration, 0));
    last = time;
    if (!carted.has(product) && rng.chance(funnel.addRate)) {
      carted.add(product);
      const addTime = time + Math.max(1000, Math.round(duration * 1000 * (0.5 + rng.next() * 0.5)));
      const line = { quantity: quantities.sample(rng) + 1, priceCents: product.priceCents };
      cart.set(product, line);
      events.push(pending(rng, 'add', addTime, visit, product.id, line.quantity, line.priceCents));
      last = Math.max(last, addTime);
      if (rng.chance(funnel.removeRate)) {
        const removeTime = addTime + 5000 + rng.int(120_000);
        events.push(pending(rng, 'remove', removeTime, visit, product.id, line.quantity, line.priceCents));
        cart.delete(product);
        last = Math.max(last, removeTime);
      }
    }
    time += duration * 1000 + Math.round(rng.exponential(8000));
  }

  if (cart.size > 0 && rng.chance(funnel.purchaseRate)) {
    const purchaseTime = Math.max(last, time) + 10_000 + rng.int(170_000);
    const lines = [...cart].map(([product, line]) => ({ product_id: product.id, quantity: line.quantity, price: line.priceCents / 100 }));
    const totalCents = [...cart.values()].reduce((sum, line) => sum + line.priceCents * line.quantity, 0);
    const transaction: TransactionEvent = {
      transaction_id: rng.uuid(),
      user_id: user,
      session_id: sessionId,
      products: lines,
      total_amount: totalCents / 100,
      currency: 'USD',
      payment_method: (PaymentMethods[paymentSampler.sample(rng)] as [string, number])[0],
      country,
      transaction_timestamp: new Date(purchaseTime).toISOString(),
    };
    events.push({ kind: 'transaction', topic: Topics.transactions.name, key: user, time: purchaseTime, event: transaction });
  }
  return events;
}

/**
 * The bytes to send for an event: its JSON, or the broken payload of a malformed one. Good events
 * hold only strings this module made (ids, codes, product names without quotes or backslashes), so
 * templates give the same text as JSON.stringify at a third of the cost; bad events go through
 * JSON.stringify, since they may miss fields.
 */
export function serializeEvent(event: GeneratedEvent): string {
  if (event.raw !== undefined) return event.raw;
  if (event.bad !== undefined) return JSON.stringify(event.event);
  switch (event.kind) {
    case 'view': {
      const e = event.event;
      return `{"event_id":"${e.event_id}","event_type":"view","user_id":"${e.user_id}","product_id":"${e.product_id}","session_id":"${e.session_id}","view_duration":${e.view_duration},"country":"${e.country}","timestamp":"${e.timestamp}"}`;
    }
    case 'cart': {
      const e = event.event;
      return `{"event_id":"${e.event_id}","event_type":"${e.event_type}","user_id":"${e.user_id}","product_id":"${e.product_id}","session_id":"${e.session_id}","quantity":${e.quantity},"price":${e.price},"country":"${e.country}","timestamp":"${e.timestamp}"}`;
    }
    case 'transaction': {
      const e = event.event;
      let lines = '';
      for (const line of e.products) {
        lines += `${lines ? ',' : ''}{"product_id":"${line.product_id}","quantity":${line.quantity},"price":${line.price}}`;
      }
      return `{"transaction_id":"${e.transaction_id}","user_id":"${e.user_id}","session_id":"${e.session_id}","products":[${lines}],"total_amount":${e.total_amount},"currency":"${e.currency}","payment_method":"${e.payment_method}","country":"${e.country}","transaction_timestamp":"${e.transaction_timestamp}"}`;
    }
    default:
      return JSON.stringify(event.event);
  }
}
